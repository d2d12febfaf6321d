// ai8xsim: read a PyTorch checkpoint (torch.save, zip format of PyTorch >= 1.6) without
// PyTorch. Understands the zip container (`<dir>/data.pkl`, `<dir>/data/<key>`, any top-level
// directory name) and the part of pickle (protocol 2, plus the protocol 3-5 opcodes torch may
// use) that torch.save writes for a checkpoint dict: dicts, OrderedDict, lists, tuples, ints,
// floats, strings, bools, None, tensors (`torch._utils._rebuild_tensor_v2` / `_v3` with
// persistent-id storages of every numeric storage type, storage offsets and arbitrary strides)
// and parameters (`_rebuild_parameter`). Objects of any other class may appear outside the
// state dict (optimizer classes, ...) and are kept as opaque values; a tensor-shaped entry that
// is such an object is an Error naming the class. Unknown opcodes and malformed input are an
// ai8xsim::Error (Checkpoint), never a crash.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "ai8xsim/ndarray.h"
#include "sim/io/zip.h"

namespace ai8xsim {

struct TorchCheckpoint {
  NdArrayMap tensors;              // state_dict entries by key
  std::vector<std::string> keys;   // the same keys in the file's (insertion) order
  std::map<std::string, std::string> metadata;  // top-level scalars (arch, epoch, ...) as text
  bool has_state_dict = false;     // tensors came from a `state_dict` entry, not the top level
};

// Where the top level has `state_dict`, the tensors come from it; else, when the top level is
// itself a dict of tensors, from the top level.
// `limits` bound the file and its inflated records (max_bytes), the pickle's opcodes and the
// tensor elements decoded (sim/io/zip.h LoadLimits).
TorchCheckpoint read_torch_checkpoint(const std::string& path, const LoadLimits& limits = {});
TorchCheckpoint read_torch_checkpoint(const ZipArchive& zip, const LoadLimits& limits = {});
// The file's bytes held in memory; `name` stands for the file in messages.
TorchCheckpoint parse_torch_checkpoint(std::string bytes, const std::string& name,
                                       const LoadLimits& limits = {});

}  // namespace ai8xsim
