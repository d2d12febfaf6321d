#include "sim/io/torch_checkpoint.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <unordered_map>

#include "ai8xsim/error.h"
#include "ai8xsim/files.h"
#include "sim/io/npy.h"

namespace ai8xsim {

namespace {

constexpr size_t kMaxDims = 64;
// A tensor may repeat storage elements (stride 0), but not beyond this many elements more than
// its storage holds: a guard against hostile sizes.
constexpr uint64_t kMaxExpandedElements = uint64_t{1} << 20;

// ---- pickle values ------------------------------------------------------------------------

struct Value {
  enum Kind { None, Bool, Int, BigInt, Float, Str, Bytes, List, Tuple, Dict, Global, Storage,
              Tensor, Object };
  Kind kind = None;
  int64_t i = 0;      // Bool, Int; Storage: element count
  double f = 0;       // Float
  std::string s;      // Str, Bytes; Global/Object: "module.name"; Storage: key
  std::vector<Value*> items;                   // List, Tuple; Dict: key, value, key, value...
  std::unordered_map<std::string, size_t> at;  // Dict: string key -> index of its key in items
  DType dtype = DType::U8;                     // Storage
  const std::string* bytes = nullptr;          // Storage: the raw little-endian data
  NdArray array;                               // Tensor
};

const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::None: return "None";
    case Value::Bool: return "a bool";
    case Value::Int: return "an int";
    case Value::BigInt: return "an int beyond 64 bits";
    case Value::Float: return "a float";
    case Value::Str: return "a string";
    case Value::Bytes: return "bytes";
    case Value::List: return "a list";
    case Value::Tuple: return "a tuple";
    case Value::Dict: return "a dict";
    case Value::Global: return "a class or function reference";
    case Value::Storage: return "a storage";
    case Value::Tensor: return "a tensor";
    case Value::Object: return "an object";
  }
  return "?";
}

std::string describe(const Value* v) {
  if (v->kind == Value::Object) return "an object of class '" + v->s + "'";
  if (v->kind == Value::Global) return "a reference to '" + v->s + "'";
  return kind_name(v->kind);
}

// Raw storages by key, read from the archive on first use.
using StorageSource = std::function<const std::string*(const std::string& key)>;

// ---- the unpickler --------------------------------------------------------------------------

class Unpickler {
 public:
  Unpickler(const std::string& data, const std::string& what, StorageSource storages,
            const LoadLimits& limits)
      : d_(data), what_(what), storages_(std::move(storages)), limits_(limits) {}

  Value* run();

 private:
  using Handler = Value* (Unpickler::*)(const std::vector<Value*>& args);

  [[noreturn]] void error(const std::string& msg) const {
    // Where the hint after ';' says what ai8xsim reads, the position goes before it.
    const size_t hint = msg.find("; ");
    const std::string at = " (at byte " + std::to_string(op_pos_) + " of the pickle)";
    fail(ErrorKind::Checkpoint,
         what_ + ": pickle: " +
             (hint == std::string::npos ? msg + at : msg.substr(0, hint) + at + msg.substr(hint)));
  }

  // Input
  void need(uint64_t n) const {
    if (n > d_.size() - pos_) error("truncated data; the checkpoint is damaged (cut short)");
  }
  uint64_t read_le(int n) {
    need(n);
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = v << 8 | static_cast<uint8_t>(d_[pos_ + k]);
    pos_ += n;
    return v;
  }
  std::string read_bytes(uint64_t n) {
    need(n);
    std::string s = d_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string read_line() {
    const size_t end = d_.find('\n', pos_);
    if (end == std::string::npos) error("truncated data (a text argument without newline)");
    std::string s = d_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }

  // Values and the stack
  Value* make(Value::Kind k) {
    arena_.emplace_back();
    arena_.back().kind = k;
    return &arena_.back();
  }
  Value* make_int(int64_t i) {
    Value* v = make(Value::Int);
    v->i = i;
    return v;
  }
  Value* make_str(Value::Kind k, std::string s) {
    Value* v = make(k);
    v->s = std::move(s);
    return v;
  }
  void push(Value* v) { stack_.push_back(v); }
  Value* pop() {
    if (stack_.size() <= stack_floor()) error("stack underflow");
    Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value* top() {
    if (stack_.size() <= stack_floor()) error("stack underflow");
    return stack_.back();
  }
  size_t stack_floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<Value*> pop_mark() {
    if (marks_.empty()) error("no MARK on the stack");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Value*> items(stack_.begin() + static_cast<long>(m), stack_.end());
    stack_.resize(m);
    return items;
  }

  // Containers
  void dict_set(Value* dict, Value* key, Value* value) {
    if (dict->kind == Value::Object) return;  // opaque: its contents do not matter
    if (dict->kind != Value::Dict) error("SETITEM on " + describe(dict) + ", expected a dict");
    if (key->kind == Value::Str) {
      auto it = dict->at.find(key->s);
      if (it != dict->at.end()) {
        dict->items[it->second + 1] = value;
        return;
      }
      dict->at[key->s] = dict->items.size();
    }
    dict->items.push_back(key);
    dict->items.push_back(value);
  }
  void list_append(Value* list, const std::vector<Value*>& items) {
    if (list->kind == Value::Object) return;
    if (list->kind != Value::List) error("APPEND to " + describe(list) + ", expected a list");
    list->items.insert(list->items.end(), items.begin(), items.end());
  }
  Value* make_tuple(std::vector<Value*> items) {
    Value* v = make(Value::Tuple);
    v->items = std::move(items);
    return v;
  }

  void dispatch(uint8_t op);
  void op_int(int bytes, bool is_signed);
  void op_long(int len_bytes);
  void op_float();
  void op_string(Value::Kind k, int len_bytes);
  void op_tuple(size_t n);
  void op_setitems();
  void op_global(std::string module, std::string name);
  void op_stack_global();
  void op_reduce();
  void op_build();
  void op_newobj(bool ex);
  void op_persid();
  void op_put(uint64_t idx);
  void op_get(uint64_t idx);

  // Callables
  Value* call(const std::string& name, const std::vector<Value*>& args);
  Value* call_ordered_dict(const std::vector<Value*>& args);
  Value* call_rebuild_tensor(const std::vector<Value*>& args);
  Value* call_rebuild_tensor_v3(const std::vector<Value*>& args);
  Value* call_rebuild_parameter(const std::vector<Value*>& args);
  Value* call_size(const std::vector<Value*>& args);

  // Tensors
  int64_t int_arg(const Value* v, const std::string& what) const;
  std::vector<int64_t> int_tuple_arg(const Value* v, const std::string& what) const;
  Value* build_tensor(const Value* storage, DType dtype, const Value* offset, const Value* size,
                      const Value* stride);
  Value* storage_from_pid(const Value* pid);

  const std::string& d_;
  const std::string& what_;
  StorageSource storages_;
  const LoadLimits& limits_;
  uint64_t ops_ = 0, elements_ = 0;  // opcodes run and tensor elements decoded so far
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  std::deque<Value> arena_;
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value*> memo_;
  std::unordered_map<std::string, Value*> storage_by_key_;
  bool stopped_ = false;
};

Value* Unpickler::run() {
  while (!stopped_) {
    op_pos_ = pos_;
    if (++ops_ > limits_.max_pickle_ops)
      error("more than " + std::to_string(limits_.max_pickle_ops) + " opcodes, the limit (" +
            limits_.basis + "); not a checkpoint for this network");
    need(1);
    dispatch(static_cast<uint8_t>(d_[pos_++]));
  }
  if (stack_.size() != 1 || !marks_.empty())
    error("STOP with " + std::to_string(stack_.size()) + " values on the stack, expected 1");
  return stack_.back();
}

void Unpickler::dispatch(uint8_t op) {
  switch (op) {
    case 0x80: read_le(1); break;                 // PROTO
    case 0x95: read_le(8); break;                 // FRAME
    case '.': stopped_ = true; break;             // STOP
    case '(': marks_.push_back(stack_.size()); break;  // MARK
    case '0': pop(); break;                       // POP
    case '1': pop_mark(); break;                  // POP_MARK
    case '2': push(top()); break;                 // DUP
    case 'N': push(make(Value::None)); break;     // NONE
    case 0x88: case 0x89: {                       // NEWTRUE, NEWFALSE
      Value* v = make(Value::Bool);
      v->i = op == 0x88;
      push(v);
      break;
    }
    case 'J': op_int(4, true); break;             // BININT
    case 'K': op_int(1, false); break;            // BININT1
    case 'M': op_int(2, false); break;            // BININT2
    case 0x8a: op_long(1); break;                 // LONG1
    case 0x8b: op_long(4); break;                 // LONG4
    case 'G': op_float(); break;                  // BINFLOAT
    case 'X': op_string(Value::Str, 4); break;    // BINUNICODE
    case 0x8c: op_string(Value::Str, 1); break;   // SHORT_BINUNICODE
    case 0x8d: op_string(Value::Str, 8); break;   // BINUNICODE8
    case 'T': op_string(Value::Str, 4); break;    // BINSTRING (Python 2 str)
    case 'U': op_string(Value::Str, 1); break;    // SHORT_BINSTRING
    case 'B': op_string(Value::Bytes, 4); break;  // BINBYTES
    case 'C': op_string(Value::Bytes, 1); break;  // SHORT_BINBYTES
    case 0x8e: op_string(Value::Bytes, 8); break; // BINBYTES8
    case ')': push(make(Value::Tuple)); break;    // EMPTY_TUPLE
    case 't': push(make_tuple(pop_mark())); break;  // TUPLE
    case 0x85: op_tuple(1); break;                // TUPLE1
    case 0x86: op_tuple(2); break;                // TUPLE2
    case 0x87: op_tuple(3); break;                // TUPLE3
    case ']': push(make(Value::List)); break;     // EMPTY_LIST
    case 'l': {                                   // LIST
      Value* v = make(Value::List);
      v->items = pop_mark();
      push(v);
      break;
    }
    case 'a': {                                   // APPEND
      Value* item = pop();
      list_append(top(), {item});
      break;
    }
    case 'e': {                                   // APPENDS
      std::vector<Value*> items = pop_mark();
      list_append(top(), items);
      break;
    }
    case '}': push(make(Value::Dict)); break;     // EMPTY_DICT
    case 'd': {                                   // DICT
      std::vector<Value*> items = pop_mark();
      if (items.size() % 2) error("DICT with an odd number of items");
      Value* v = make(Value::Dict);
      for (size_t k = 0; k < items.size(); k += 2) dict_set(v, items[k], items[k + 1]);
      push(v);
      break;
    }
    case 's': {                                   // SETITEM
      Value* value = pop();
      Value* key = pop();
      dict_set(top(), key, value);
      break;
    }
    case 'u': op_setitems(); break;               // SETITEMS
    case 0x8f: push(make_str(Value::Object, "builtins.set")); break;  // EMPTY_SET
    case 0x90: pop_mark(); top(); break;          // ADDITEMS (to an opaque set)
    case 0x91: pop_mark(); push(make_str(Value::Object, "builtins.frozenset")); break;
    case 'c': {                                   // GLOBAL
      std::string module = read_line();
      op_global(std::move(module), read_line());
      break;
    }
    case 0x93: op_stack_global(); break;          // STACK_GLOBAL
    case 'R': op_reduce(); break;                 // REDUCE
    case 'b': op_build(); break;                  // BUILD
    case 0x81: op_newobj(false); break;           // NEWOBJ
    case 0x92: op_newobj(true); break;            // NEWOBJ_EX
    case 'Q': op_persid(); break;                 // BINPERSID
    case 'q': op_put(read_le(1)); break;          // BINPUT
    case 'r': op_put(read_le(4)); break;          // LONG_BINPUT
    case 0x94: op_put(memo_.size()); break;       // MEMOIZE
    case 'h': op_get(read_le(1)); break;          // BINGET
    case 'j': op_get(read_le(4)); break;          // LONG_BINGET
    default: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "unsupported opcode 0x%02x", op);
      std::string msg = buf;
      if (op >= 0x20 && op < 0x7f) msg += std::string(" ('") + static_cast<char>(op) + "')";
      error(msg + "; ai8xsim reads the pickle subset torch.save writes (protocol 2)");
    }
  }
}

void Unpickler::op_int(int bytes, bool is_signed) {
  const uint64_t raw = read_le(bytes);
  push(make_int(is_signed ? static_cast<int32_t>(static_cast<uint32_t>(raw))
                          : static_cast<int64_t>(raw)));
}

void Unpickler::op_long(int len_bytes) {
  const uint64_t n = read_le(len_bytes);
  need(n);
  if (n > 8) {
    pos_ += n;
    push(make(Value::BigInt));
    return;
  }
  uint64_t v = 0;
  for (uint64_t k = n; k-- > 0;) v = v << 8 | static_cast<uint8_t>(d_[pos_ + k]);
  if (n > 0 && n < 8 && (static_cast<uint8_t>(d_[pos_ + n - 1]) & 0x80))
    v |= ~uint64_t{0} << (8 * n);  // sign-extend
  pos_ += n;
  push(make_int(static_cast<int64_t>(v)));
}

void Unpickler::op_float() {
  need(8);
  uint64_t bits = 0;
  for (int k = 0; k < 8; ++k) bits = bits << 8 | static_cast<uint8_t>(d_[pos_ + k]);
  pos_ += 8;
  Value* v = make(Value::Float);
  std::memcpy(&v->f, &bits, sizeof bits);
  push(v);
}

void Unpickler::op_string(Value::Kind k, int len_bytes) {
  const uint64_t n = read_le(len_bytes);
  push(make_str(k, read_bytes(n)));
}

void Unpickler::op_tuple(size_t n) {
  if (stack_.size() < stack_floor() + n) error("stack underflow");
  std::vector<Value*> items(stack_.end() - static_cast<long>(n), stack_.end());
  stack_.resize(stack_.size() - n);
  push(make_tuple(std::move(items)));
}

void Unpickler::op_setitems() {
  std::vector<Value*> items = pop_mark();
  if (items.size() % 2) error("SETITEMS with an odd number of items");
  Value* dict = top();
  for (size_t k = 0; k < items.size(); k += 2) dict_set(dict, items[k], items[k + 1]);
}

void Unpickler::op_global(std::string module, std::string name) {
  // torch.load maps the old module name of tensors to the new one.
  if (module == "torch.tensor") module = "torch._tensor";
  if (module == "__builtin__") module = "builtins";
  push(make_str(Value::Global, module + "." + name));
}

void Unpickler::op_stack_global() {
  Value* name = pop();
  Value* module = pop();
  if (module->kind != Value::Str || name->kind != Value::Str)
    error("STACK_GLOBAL with " + describe(module) + " and " + describe(name) +
          ", expected two strings");
  op_global(module->s, name->s);
}

void Unpickler::op_reduce() {
  Value* args = pop();
  Value* callable = pop();
  if (callable->kind != Value::Global)
    error("REDUCE calls " + describe(callable) + ", expected a class or function");
  if (args->kind != Value::Tuple)
    error("REDUCE of '" + callable->s + "' with " + describe(args) + ", expected a tuple");
  push(call(callable->s, args->items));
}

void Unpickler::op_build() {
  pop();  // the state: attributes of an object, nothing a checkpoint's tensors depend on
  top();
}

void Unpickler::op_newobj(bool ex) {
  if (ex) pop();  // kwargs
  pop();          // args
  Value* cls = pop();
  if (cls->kind != Value::Global) error("NEWOBJ of " + describe(cls) + ", expected a class");
  push(make_str(Value::Object, cls->s));
}

void Unpickler::op_persid() { push(storage_from_pid(pop())); }

void Unpickler::op_put(uint64_t idx) { memo_[idx] = top(); }

void Unpickler::op_get(uint64_t idx) {
  auto it = memo_.find(idx);
  if (it == memo_.end()) error("memo entry " + std::to_string(idx) + " read before it was set");
  push(it->second);
}

// ---- callables ------------------------------------------------------------------------------

Value* Unpickler::call(const std::string& name, const std::vector<Value*>& args) {
  static const std::unordered_map<std::string, Handler> handlers = {
      {"collections.OrderedDict", &Unpickler::call_ordered_dict},
      {"torch._utils._rebuild_tensor", &Unpickler::call_rebuild_tensor},
      {"torch._utils._rebuild_tensor_v2", &Unpickler::call_rebuild_tensor},
      {"torch._utils._rebuild_tensor_v3", &Unpickler::call_rebuild_tensor_v3},
      {"torch._utils._rebuild_parameter", &Unpickler::call_rebuild_parameter},
      {"torch._utils._rebuild_parameter_with_state", &Unpickler::call_rebuild_parameter},
      {"torch.Size", &Unpickler::call_size},
  };
  auto it = handlers.find(name);
  if (it == handlers.end()) return make_str(Value::Object, name);  // opaque, checked on use
  return (this->*(it->second))(args);
}

Value* Unpickler::call_ordered_dict(const std::vector<Value*>& args) {
  Value* dict = make(Value::Dict);
  if (args.empty()) return dict;
  if (args.size() != 1 || (args[0]->kind != Value::List && args[0]->kind != Value::Tuple))
    error("OrderedDict() with unexpected arguments");
  for (const Value* pair : args[0]->items) {
    if ((pair->kind != Value::Tuple && pair->kind != Value::List) || pair->items.size() != 2)
      error("OrderedDict() with an item that is not a (key, value) pair");
    dict_set(dict, pair->items[0], pair->items[1]);
  }
  return dict;
}

Value* Unpickler::call_size(const std::vector<Value*>& args) {
  if (args.size() != 1 || args[0]->kind != Value::Tuple) error("torch.Size() without a tuple");
  return args[0];
}

Value* Unpickler::call_rebuild_parameter(const std::vector<Value*>& args) {
  if (args.size() < 3 || args[0]->kind != Value::Tensor)
    error("_rebuild_parameter() without a tensor");
  return args[0];
}

Value* Unpickler::call_rebuild_tensor(const std::vector<Value*>& args) {
  // _rebuild_tensor(storage, offset, size, stride)
  // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
  if (args.size() < 4 || args.size() > 7)
    error("_rebuild_tensor with " + std::to_string(args.size()) + " arguments, expected 4 to 7");
  if (args[0]->kind != Value::Storage)
    error("_rebuild_tensor of " + describe(args[0]) + ", expected a storage");
  return build_tensor(args[0], args[0]->dtype, args[1], args[2], args[3]);
}

namespace {

bool dtype_from_name(const std::string& name, DType& out) {
  static const std::unordered_map<std::string, DType> dtypes = {
      {"torch.float32", DType::F32}, {"torch.float", DType::F32},
      {"torch.float64", DType::F64}, {"torch.double", DType::F64},
      {"torch.float16", DType::F16}, {"torch.half", DType::F16},
      {"torch.bfloat16", DType::BF16}, {"torch.bool", DType::Bool},
      {"torch.int8", DType::I8},     {"torch.uint8", DType::U8},
      {"torch.int16", DType::I16},   {"torch.short", DType::I16},
      {"torch.int32", DType::I32},   {"torch.int", DType::I32},
      {"torch.int64", DType::I64},   {"torch.long", DType::I64},
      {"torch.uint16", DType::U16},  {"torch.uint32", DType::U32},
      {"torch.uint64", DType::U64}};
  auto it = dtypes.find(name);
  if (it == dtypes.end()) return false;
  out = it->second;
  return true;
}

bool storage_dtype_from_name(const std::string& name, DType& out) {
  static const std::unordered_map<std::string, DType> storages = {
      {"torch.FloatStorage", DType::F32},   {"torch.DoubleStorage", DType::F64},
      {"torch.HalfStorage", DType::F16},    {"torch.BFloat16Storage", DType::BF16},
      {"torch.LongStorage", DType::I64},    {"torch.IntStorage", DType::I32},
      {"torch.ShortStorage", DType::I16},   {"torch.CharStorage", DType::I8},
      {"torch.ByteStorage", DType::U8},     {"torch.BoolStorage", DType::Bool},
      {"torch.UntypedStorage", DType::U8},  {"torch.storage.UntypedStorage", DType::U8},
      {"torch.storage._UntypedStorage", DType::U8}, {"torch._UntypedStorage", DType::U8}};
  auto it = storages.find(name);
  if (it == storages.end()) return false;
  out = it->second;
  return true;
}

}  // namespace

Value* Unpickler::call_rebuild_tensor_v3(const std::vector<Value*>& args) {
  // _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[, metadata])
  if (args.size() < 7 || args.size() > 8)
    error("_rebuild_tensor_v3 with " + std::to_string(args.size()) +
          " arguments, expected 7 or 8");
  if (args[0]->kind != Value::Storage)
    error("_rebuild_tensor_v3 of " + describe(args[0]) + ", expected a storage");
  DType dtype;
  if (args[6]->kind != Value::Global || !dtype_from_name(args[6]->s, dtype))
    error("_rebuild_tensor_v3 with dtype " + describe(args[6]) +
          ", expected a numeric torch dtype");
  return build_tensor(args[0], dtype, args[1], args[2], args[3]);
}

// ---- storages and tensors -------------------------------------------------------------------

Value* Unpickler::storage_from_pid(const Value* pid) {
  // ('storage', storage_type, key, location, numel)
  if (pid->kind != Value::Tuple || pid->items.size() != 5 || pid->items[0]->kind != Value::Str ||
      pid->items[0]->s != "storage")
    error("persistent id " + describe(pid) +
          ", expected ('storage', type, key, location, size) as torch.save writes");
  const Value* type = pid->items[1];
  const Value* key = pid->items[2];
  DType dtype;
  if (type->kind != Value::Global || !storage_dtype_from_name(type->s, dtype))
    error("storage of type " + describe(type) +
          ", expected a numeric storage (torch.FloatStorage, torch.LongStorage, ...)");
  if (key->kind != Value::Str) error("storage key " + describe(key) + ", expected a string");
  const int64_t numel = int_arg(pid->items[4], "storage size");
  auto known = storage_by_key_.find(key->s);
  if (known != storage_by_key_.end()) {
    if (known->second->dtype != dtype || known->second->i != numel)
      error("storage '" + key->s + "' is used with two different types or sizes");
    return known->second;
  }
  const std::string* bytes = storages_(key->s);
  if (static_cast<uint64_t>(numel) > bytes->size() / dtype_size(dtype))
    error("storage '" + key->s + "' should hold " + std::to_string(numel) + " elements of " +
          dtype_name(dtype) + " but its record has only " + std::to_string(bytes->size()) +
          " bytes (truncated checkpoint)");
  Value* v = make_str(Value::Storage, key->s);
  v->dtype = dtype;
  v->i = numel;
  v->bytes = bytes;
  storage_by_key_[key->s] = v;
  return v;
}

int64_t Unpickler::int_arg(const Value* v, const std::string& what) const {
  if (v->kind != Value::Int) error(what + " is " + describe(v) + ", expected an int");
  if (v->i < 0) error(what + " is " + std::to_string(v->i) + ", expected a non-negative int");
  return v->i;
}

std::vector<int64_t> Unpickler::int_tuple_arg(const Value* v, const std::string& what) const {
  if (v->kind != Value::Tuple && v->kind != Value::List)
    error(what + " is " + describe(v) + ", expected a tuple of ints");
  if (v->items.size() > kMaxDims)
    error(what + " has " + std::to_string(v->items.size()) + " dimensions, at most 64 allowed");
  std::vector<int64_t> out;
  for (const Value* item : v->items) out.push_back(int_arg(item, what + " element"));
  return out;
}

Value* Unpickler::build_tensor(const Value* storage, DType dtype, const Value* offset_v,
                               const Value* size_v, const Value* stride_v) {
  const int64_t offset = int_arg(offset_v, "tensor storage offset");
  const std::vector<int64_t> size = int_tuple_arg(size_v, "tensor size");
  const std::vector<int64_t> stride = int_tuple_arg(stride_v, "tensor stride");
  if (size.size() != stride.size())
    error("tensor size and stride have different lengths (" + std::to_string(size.size()) +
          " vs " + std::to_string(stride.size()) + ")");
  // Elements of `dtype` in the storage (v3 tensors view an untyped byte storage).
  const uint64_t storage_elements =
      static_cast<uint64_t>(storage->i) * dtype_size(storage->dtype) / dtype_size(dtype);
  const uint64_t limit = std::max<uint64_t>(storage_elements, kMaxExpandedElements);
  uint64_t count = 1;
  unsigned __int128 last = static_cast<uint64_t>(offset);
  for (size_t k = 0; k < size.size(); ++k) {
    if (size[k] != 0 && count > limit / static_cast<uint64_t>(size[k]))
      error("tensor of size " + NdArray{dtype, size, {}}.shape_str() + " is too large");
    count *= static_cast<uint64_t>(size[k]);
    if (size[k] > 0) last += static_cast<unsigned __int128>(size[k] - 1) * stride[k];
  }
  if (count > 0 && last >= storage_elements)
    error("tensor of size " + NdArray{dtype, size, {}}.shape_str() + ", offset " +
          std::to_string(offset) + " reaches past its storage '" + storage->s + "' of " +
          std::to_string(storage_elements) + " elements");
  if (count > limits_.max_elements - elements_)
    error("tensor of size " + NdArray{dtype, size, {}}.shape_str() + " takes the tensors past " +
          std::to_string(limits_.max_elements) + " elements in all, the limit (" +
          limits_.basis + ")");
  elements_ += count;
  Value* t = make(Value::Tensor);
  t->array.dtype = dtype;
  t->array.shape = size;
  t->array.values.reserve(count);
  const size_t item = dtype_size(dtype);
  std::vector<int64_t> index(size.size(), 0);
  for (uint64_t n = 0; n < count; ++n) {
    uint64_t at = static_cast<uint64_t>(offset);
    for (size_t k = 0; k < size.size(); ++k) at += static_cast<uint64_t>(index[k] * stride[k]);
    decode_values(dtype, storage->bytes->data() + at * item, 1, t->array.values);
    for (size_t k = size.size(); k-- > 0;) {  // odometer step, last axis fastest
      if (++index[k] < size[k]) break;
      index[k] = 0;
    }
  }
  return t;
}

// ---- the checkpoint ------------------------------------------------------------------------

std::string scalar_text(const Value* v, bool& ok) {
  ok = true;
  switch (v->kind) {
    case Value::None: return "None";
    case Value::Bool: return v->i ? "True" : "False";
    case Value::Int: return std::to_string(v->i);
    case Value::Str: return v->s;
    case Value::Float: {
      char buf[64];
      const auto r = std::to_chars(buf, buf + sizeof buf, v->f);
      std::string s(buf, r.ptr);
      if (std::isfinite(v->f) && s.find_first_of(".e") == std::string::npos) s += ".0";
      return s;
    }
    default: ok = false; return "";
  }
}

const Value* dict_get(const Value* dict, const std::string& key) {
  auto it = dict->at.find(key);
  return it == dict->at.end() ? nullptr : dict->items[it->second + 1];
}

std::string key_list(const Value* dict) {
  std::string s;
  for (size_t k = 0; k < dict->items.size() && k < 40; k += 2) {
    const Value* key = dict->items[k];
    s += (k ? ", " : "") + (key->kind == Value::Str ? "'" + key->s + "'" : describe(key));
  }
  return s.empty() ? "none" : s;
}

bool all_tensors(const Value* dict) {
  for (size_t k = 1; k < dict->items.size(); k += 2)
    if (dict->items[k]->kind != Value::Tensor) return false;
  return !dict->items.empty();
}

void take_tensors(const Value* dict, const std::string& what, TorchCheckpoint& out) {
  for (size_t k = 0; k < dict->items.size(); k += 2) {
    const Value* key = dict->items[k];
    const Value* value = dict->items[k + 1];
    if (key->kind != Value::Str)
      fail(ErrorKind::Checkpoint, what + ": a state_dict key is " + describe(key) +
                                      ", expected strings");
    if (value->kind != Value::Tensor)
      fail(ErrorKind::Checkpoint, what + ": state_dict entry '" + key->s + "' is " +
                                      describe(value) + ", expected a tensor");
    out.keys.push_back(key->s);
    out.tensors[key->s] = value->array;
  }
}

void take_metadata(const Value* root, TorchCheckpoint& out) {
  for (size_t k = 0; k < root->items.size(); k += 2) {
    if (root->items[k]->kind != Value::Str) continue;
    bool ok = false;
    std::string text = scalar_text(root->items[k + 1], ok);
    if (ok) out.metadata[root->items[k]->s] = std::move(text);
  }
}

// The top-level directory of the records: the `<dir>` of `<dir>/data.pkl`.
std::string record_prefix(const ZipArchive& zip) {
  std::string prefix;
  for (const ZipEntry& e : zip.entries()) {
    const size_t slash = e.name.find('/');
    if (slash == std::string::npos || e.name.substr(slash + 1) != "data.pkl") continue;
    if (!prefix.empty())
      fail(ErrorKind::Checkpoint, "file " + zip.name() + ": two data.pkl records ('" + prefix +
                                      "/data.pkl' and '" + e.name + "')");
    prefix = e.name.substr(0, slash);
  }
  if (prefix.empty())
    fail(ErrorKind::Checkpoint,
         "file " + zip.name() + ": a zip archive without a <dir>/data.pkl record; expected a "
                                "checkpoint written by torch.save (PyTorch >= 1.6)");
  return prefix;
}

void check_byte_order(const ZipArchive& zip, const std::string& prefix) {
  const ZipEntry* e = zip.find(prefix + "/byteorder");
  if (!e) return;
  const std::string order = zip.read(*e);
  if (order != "little")
    fail(ErrorKind::Checkpoint, "file " + zip.name() + ": record '" + e->name + "' says '" +
                                    order.substr(0, 16) +
                                    "', expected 'little' (big-endian checkpoints are not "
                                    "supported)");
}

}  // namespace

TorchCheckpoint read_torch_checkpoint(const ZipArchive& zip, const LoadLimits& limits) {
  const std::string prefix = record_prefix(zip);
  check_byte_order(zip, prefix);
  const std::string pkl_name = prefix + "/data.pkl";
  const std::string pickle = zip.read(pkl_name);
  const std::string what = "file " + zip.name() + ", record '" + pkl_name + "'";
  std::unordered_map<std::string, std::string> cache;
  auto storages = [&](const std::string& key) -> const std::string* {
    auto it = cache.find(key);
    if (it != cache.end()) return &it->second;
    const std::string name = prefix + "/data/" + key;
    if (!zip.find(name))
      fail(ErrorKind::Checkpoint, "file " + zip.name() + ": the pickle refers to storage '" +
                                      key + "' but there is no record '" + name + "'");
    return &cache.emplace(key, zip.read(name)).first->second;
  };
  Unpickler unpickler(pickle, what, storages, limits);
  const Value* root = unpickler.run();
  if (root->kind != Value::Dict)
    fail(ErrorKind::Checkpoint, what + ": the checkpoint is " + describe(root) +
                                    ", expected a dict (with a `state_dict` entry)");
  TorchCheckpoint out;
  take_metadata(root, out);
  if (const Value* sd = dict_get(root, "state_dict")) {
    if (sd->kind != Value::Dict)
      fail(ErrorKind::Checkpoint, what + ": `state_dict` is " + describe(sd) +
                                      ", expected a dict of tensors");
    out.has_state_dict = true;
    take_tensors(sd, what, out);
  } else if (all_tensors(root)) {
    take_tensors(root, what, out);
  } else {
    fail(ErrorKind::Checkpoint, what + ": no `state_dict` entry and the top level is not a dict "
                                       "of tensors (top-level keys: " + key_list(root) + ")");
  }
  return out;
}

TorchCheckpoint read_torch_checkpoint(const std::string& path, const LoadLimits& limits) {
  return parse_torch_checkpoint(read_file(path, limits.max_bytes, limits.basis), path, limits);
}

TorchCheckpoint parse_torch_checkpoint(std::string bytes, const std::string& path,
                                       const LoadLimits& limits) {
  if (!ZipArchive::looks_like_zip(bytes)) {
    const bool legacy_pickle = bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x80;
    const bool tar = bytes.size() > 262 && bytes.compare(257, 5, "ustar") == 0;
    if (legacy_pickle || tar)
      fail(ErrorKind::Checkpoint,
           "file " + path + ": a legacy torch.save checkpoint (PyTorch < 1.6 or "
                            "_use_new_zipfile_serialization=False); load it in PyTorch and "
                            "save it again with torch.save(checkpoint, path)");
    fail(ErrorKind::Checkpoint, "file " + path + ": not a PyTorch checkpoint (not a zip "
                                                 "archive; expected a file written by torch.save)");
  }
  ZipArchive zip = ZipArchive::from_bytes(std::move(bytes), path);
  zip.limit(limits.max_bytes, limits.basis);
  return read_torch_checkpoint(zip, limits);
}

}  // namespace ai8xsim
