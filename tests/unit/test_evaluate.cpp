// The scoring arithmetic of `ai8xsim eval` / net.evaluate (ai8xsim/evaluate.h): argmax with
// numpy's tie rule, accuracy, per-class accuracy, the confusion matrix, misclassified
// indices, agreement with a reference, and the array conversions' refusals. Every expected
// number below is worked out by hand in the comment next to it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "ai8xsim/error.h"
#include "ai8xsim/evaluate.h"

using namespace ai8xsim;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

NdArray array(DType t, std::vector<int64_t> shape, std::vector<double> values) {
  NdArray a;
  a.dtype = t;
  a.shape = std::move(shape);
  a.values = std::move(values);
  return a;
}

Tensor vec_tensor(std::vector<int32_t> v) {
  Tensor t(static_cast<int>(v.size()), 1, 1);
  t.data = std::move(v);
  return t;
}

}  // namespace

TEST_CASE("argmax: the largest value, ties to the lowest index (numpy.argmax)") {
  CHECK(argmax(std::vector<int32_t>{3, 9, 1}) == 1);
  CHECK(argmax(std::vector<int32_t>{5, 5, 5}) == 0);           // all tied -> 0
  CHECK(argmax(std::vector<int32_t>{-7, 2, 2, -1}) == 1);      // tie between 1 and 2 -> 1
  CHECK(argmax(std::vector<int32_t>{-3, -3, -2}) == 2);        // negatives
  CHECK(argmax(std::vector<int32_t>{0, 0, 0, 1, 1}) == 3);
  CHECK(argmax(std::vector<int32_t>{42}) == 0);
  // Full 32-bit range (output_width 32): no overflow in the comparison.
  CHECK(argmax(std::vector<int32_t>{INT32_MIN, INT32_MAX, INT32_MAX - 1}) == 1);
  CHECK(argmax(std::vector<double>{0.5, 2.5, 2.5}) == 1);
  // numpy: the first NaN is the argmax.
  CHECK(argmax(std::vector<double>{1.0, NAN, 9.0, NAN}) == 1);
  CHECK(error_of([] { argmax(std::vector<int32_t>{}); }).find("empty") != std::string::npos);
  // Long outputs (searched in blocks of 64): the first of the largest, in any block and at
  // any place in it, against std::max_element, whose first maximum is numpy's too.
  std::mt19937 rng(11);
  for (size_t n : {63, 64, 65, 127, 128, 129, 200, 768, 1000}) {
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<int32_t> v(n);
      for (auto& x : v) x = static_cast<int32_t>(rng() % 7) - 3;  // many ties
      v[rng() % n] = 5;
      if (trial % 2) v[rng() % n] = 5;  // two places hold the largest
      CHECK(argmax(v) == std::max_element(v.begin(), v.end()) - v.begin());
    }
  }
}

TEST_CASE("score: accuracy, per-class accuracy, confusion, misclassified") {
  // 6 samples, 3 classes.
  //   i  label  pred
  //   0    0     0   ok
  //   1    0     1   wrong
  //   2    1     1   ok
  //   3    2     2   ok
  //   4    2     0   wrong
  //   5    1     1   ok
  const std::vector<int> pred = {0, 1, 1, 2, 0, 1};
  const std::vector<int> label = {0, 0, 1, 2, 2, 1};
  const EvalResult r = score(pred, label, 3);
  CHECK(r.samples == 6);
  CHECK(r.classes == 3);
  CHECK(r.correct == 4);
  CHECK(r.accuracy == doctest::Approx(4.0 / 6.0));
  CHECK(r.class_samples == std::vector<int64_t>{2, 2, 2});
  CHECK(r.class_correct == std::vector<int64_t>{1, 2, 1});
  CHECK(r.class_accuracy[0] == doctest::Approx(0.5));
  CHECK(r.class_accuracy[1] == doctest::Approx(1.0));
  CHECK(r.class_accuracy[2] == doctest::Approx(0.5));
  // confusion[label][prediction]
  CHECK(r.confusion == std::vector<std::vector<int64_t>>{{1, 1, 0}, {0, 2, 0}, {1, 0, 1}});
  CHECK(r.misclassified == std::vector<int64_t>{1, 4});
  CHECK_FALSE(r.has_reference);
  // Rows of the confusion matrix sum to the class counts, the diagonal to `correct`.
  int64_t diag = 0;
  for (int k = 0; k < 3; ++k) {
    int64_t row = 0;
    for (int p = 0; p < 3; ++p) row += r.confusion[k][p];
    CHECK(row == r.class_samples[k]);
    diag += r.confusion[k][k];
  }
  CHECK(diag == r.correct);
}

TEST_CASE("score: a class without samples has accuracy NaN (null in JSON)") {
  const EvalResult r = score({0, 0, 2}, {0, 2, 2}, 4);
  CHECK(r.class_samples == std::vector<int64_t>{1, 0, 2, 0});
  CHECK(std::isnan(r.class_accuracy[1]));
  CHECK(std::isnan(r.class_accuracy[3]));
  CHECK(r.class_accuracy[2] == doctest::Approx(0.5));
  const nlohmann::json j = eval_result_json(r);
  CHECK(j["per_class"][1]["accuracy"].is_null());
  CHECK(j["per_class"][2]["accuracy"].get<double>() == doctest::Approx(0.5));
  CHECK(j["reference"].is_null());
  // Empty set: accuracy NaN, not a division by zero.
  const EvalResult e = score({}, {}, 2);
  CHECK(e.samples == 0);
  CHECK(std::isnan(e.accuracy));
}

TEST_CASE("score: agreement with a reference") {
  // pred      = 0 1 1 2 0
  // reference = 0 1 2 2 1   -> agree at 0, 1, 3: 3 of 5; differ at 2, 4
  // label     = 0 1 2 2 0   -> reference right at 0, 1, 2, 3: 4 of 5
  const std::vector<int> ref = {0, 1, 2, 2, 1};
  const EvalResult r = score({0, 1, 1, 2, 0}, {0, 1, 2, 2, 0}, 3, &ref);
  CHECK(r.has_reference);
  CHECK(r.agreements == 3);
  CHECK(r.agreement == doctest::Approx(0.6));
  CHECK(r.disagreements == std::vector<int64_t>{2, 4});
  CHECK(r.reference_correct == 4);
  CHECK(r.reference_accuracy == doctest::Approx(0.8));
  CHECK(r.correct == 4);  // pred right at 0, 1, 3, 4
  const nlohmann::json j = eval_result_json(r);
  CHECK(j["reference"]["agreement"].get<double>() == doctest::Approx(0.6));
  CHECK(j["reference"]["disagreements"] == nlohmann::json::array({2, 4}));
  // A reference may name classes beyond the network's (another model): they just disagree.
  const std::vector<int> wide = {7, 1};
  const EvalResult w = score({0, 1}, {0, 1}, 2, &wide);
  CHECK(w.agreements == 1);
  CHECK(w.disagreements == std::vector<int64_t>{0});
}

TEST_CASE("score: refusals name the count or value found") {
  CHECK(error_of([] { score({0, 1}, {0}, 2); }).find("1 labels for 2 samples") !=
        std::string::npos);
  CHECK(error_of([] { score({0, 1}, {0, 3}, 2); }).find("element 1 is 3") != std::string::npos);
  const std::vector<int> ref = {0};
  CHECK(error_of([&] { score({0, 1}, {0, 1}, 2, &ref); }).find("1 predictions for 2 samples") !=
        std::string::npos);
}

TEST_CASE("score_outputs: argmax of each flattened output") {
  // Outputs as the final layer leaves them (C x 1 x 1); the tie in sample 2 goes to index 0.
  const std::vector<Tensor> outs = {vec_tensor({1, 5, 3}), vec_tensor({-9, -8, -10}),
                                    vec_tensor({4, 4, 1}), vec_tensor({0, 0, 7})};
  CHECK(predictions_from_outputs(outs) == std::vector<int>{1, 1, 0, 2});
  const EvalResult r = score_outputs(outs, {1, 0, 0, 2});
  CHECK(r.classes == 3);
  CHECK(r.correct == 3);
  CHECK(r.misclassified == std::vector<int64_t>{1});
  // A C x H x W output is flattened in C order: element (c, y, x) is index (c*H + y)*W + x.
  Tensor t(2, 2, 2);
  t.at(1, 0, 1) = 9;  // index 5
  CHECK(predictions_from_outputs({t}) == std::vector<int>{5});
  CHECK(error_of([] { predictions_from_outputs({vec_tensor({1, 2}), vec_tensor({1})}); })
            .find("one size") != std::string::npos);
}

TEST_CASE("array conversions: samples, labels, reference") {
  // 2 samples of 1 x 2 x 2, int8.
  const NdArray s = array(DType::I8, {2, 1, 2, 2}, {1, 2, 3, 4, -128, 127, 0, -1});
  const std::vector<Tensor> t = samples_from_array(s, "x.npy");
  REQUIRE(t.size() == 2);
  CHECK(t[1].c == 1);
  CHECK(t[1].h == 2);
  CHECK(t[1].w == 2);
  CHECK(t[1].data == std::vector<int32_t>{-128, 127, 0, -1});
  // 1-D samples N x C x L become C x L x 1.
  const std::vector<Tensor> t1 = samples_from_array(array(DType::I64, {3, 2, 4},
                                                          std::vector<double>(24, 5)),
                                                    "x.npy");
  CHECK(t1.size() == 3);
  CHECK(t1[0].shape_str() == "2x4x1");
  CHECK(error_of([] { samples_from_array(array(DType::F32, {1, 1, 1, 1}, {0.5}), "x.npy"); })
            .find("dtype float32") != std::string::npos);
  CHECK(error_of([] { samples_from_array(array(DType::I16, {1, 1, 1, 1}, {200}), "x.npy"); })
            .find("sample 0, element 0 is 200") != std::string::npos);
  CHECK(error_of([] { samples_from_array(array(DType::I8, {4, 4}, std::vector<double>(16)), "x"); })
            .find("N x C x H x W") != std::string::npos);

  CHECK(labels_from_array(array(DType::U8, {3}, {0, 9, 4}), "y.npy") == std::vector<int>{0, 9, 4});
  CHECK(error_of([] { labels_from_array(array(DType::F64, {2}, {0, 1}), "y.npy"); })
            .find("dtype float64") != std::string::npos);
  CHECK(error_of([] { labels_from_array(array(DType::I64, {2}, {0, -1}), "y.npy"); })
            .find("element 1 is -1") != std::string::npos);
  CHECK(error_of([] { labels_from_array(array(DType::I64, {2, 1}, {0, 1}), "y.npy"); })
            .find("shape (2, 1)") != std::string::npos);

  // Reference: classes (N,) or scores N x K (argmax per row, ties low), N x K x 1 x 1 too.
  CHECK(reference_from_array(array(DType::I32, {2}, {3, 1}), "r") == std::vector<int>{3, 1});
  CHECK(reference_from_array(array(DType::F32, {2, 3}, {0.1, 0.7, 0.2, 2, 2, -1}), "r") ==
        std::vector<int>{1, 0});
  CHECK(reference_from_array(array(DType::I32, {2, 2, 1, 1}, {-5, -4, 8, 8}), "r") ==
        std::vector<int>{1, 0});
  CHECK(error_of([] { reference_from_array(array(DType::F32, {2}, {0.0, 1.0}), "r"); })
            .find("dtype float32") != std::string::npos);
}

TEST_CASE("EvalScorer: top-5 counts the label among the five largest, ties ranked as argmax") {
  EvalLabels l;
  l.values = {6, 0, 2};
  l.n = 3;
  EvalScorer s(l);
  // Sample 0: label 6 holds 3; larger: 9, 8, 7, 4 (four) -> rank 4, in the top 5.
  s.add(0, vec_tensor({9, 8, 7, 4, 1, 0, 3}));
  // Sample 1: label 0 holds 1; larger: five values -> rank 5, outside.
  s.add(1, vec_tensor({1, 2, 3, 4, 5, 6, 0}));
  // Sample 2: label 2 holds 5, tied with indices 0, 1, 3 and 4 below... indices 0 and 1 rank
  // before it (lower index), 3 and 4 after: rank 2, in the top 5; argmax is 0: wrong top-1.
  s.add(2, vec_tensor({5, 5, 5, 5, 5, 0, 0}));
  const EvalResult r = s.result();
  CHECK(r.top5_correct == 2);
  CHECK(r.correct == 0);
  CHECK(r.top5_accuracy == doctest::Approx(2.0 / 3));
}

TEST_CASE("EvalScorer: segmentation: per-pixel accuracy, confusion and IoU") {
  // 2 samples, output 3 channels x 1 x 2 (two pixels); labels 2 x 1 x 2.
  EvalLabels l;
  l.values = {0, 1, 2, 1};
  l.n = 2;
  l.h = 1;
  l.w = 2;
  EvalScorer s(l);
  Tensor a(3, 1, 2), b(3, 1, 2);
  a.at(0, 0, 0) = 5;  // pixel 0 -> class 0 (label 0: right)
  a.at(2, 0, 1) = 5;  // pixel 1 -> class 2 (label 1: wrong)
  b.at(2, 0, 0) = 1;  // pixel 0 -> class 2 (label 2: right)
  b.at(1, 0, 1) = 3;  // pixel 1 -> class 1 (label 1: right)
  s.add(1, b);
  s.add(0, a);
  const EvalResult r = s.result();
  CHECK(r.segmentation);
  CHECK(r.pixels == 4);
  CHECK(r.correct == 3);
  CHECK(r.accuracy == doctest::Approx(0.75));
  CHECK(r.confusion[1][2] == 1);
  // IoU: class 0 1/1; class 1: TP 1, labelled 2, predicted 1 -> 1/2; class 2: TP 1,
  // labelled 1, predicted 2 -> 1/2. Mean 2/3.
  CHECK(r.class_iou[0] == doctest::Approx(1.0));
  CHECK(r.class_iou[1] == doctest::Approx(0.5));
  CHECK(r.class_iou[2] == doctest::Approx(0.5));
  CHECK(r.mean_iou == doctest::Approx(2.0 / 3));
  CHECK(r.misclassified == std::vector<int64_t>{0});
  CHECK(r.sample_accuracy == std::vector<double>{0.5, 1.0});
}

TEST_CASE("EvalScorer: add() from several threads at once counts as one thread does") {
  // 64 segmentation outputs of 5 channels x 6 x 7 with many ties (values 0..3), and 64
  // classification outputs; scored in order on one thread and from 4 threads interleaved.
  std::mt19937 rng(11);
  for (const bool maps : {true, false}) {
    EvalLabels l;
    l.n = 64;
    if (maps) {
      l.h = 6;
      l.w = 7;
    }
    const size_t per_label = maps ? 42 : 1;
    for (size_t i = 0; i < 64 * per_label; ++i) l.values.push_back(static_cast<int>(rng() % 5));
    std::vector<Tensor> outs;
    for (int s = 0; s < 64; ++s) {
      Tensor t = maps ? Tensor(5, 6, 7) : Tensor(5, 1, 1);
      for (int32_t& v : t.data) v = static_cast<int32_t>(rng() % 4);
      outs.push_back(t);
    }
    EvalScorer one(l), four(l);
    for (size_t s = 0; s < 64; ++s) one.add(s, outs[s]);
    std::vector<std::thread> ts;
    for (size_t k = 0; k < 4; ++k)
      ts.emplace_back([&, k] {
        for (size_t s = k; s < 64; s += 4) four.add(s, outs[s]);
      });
    for (std::thread& t : ts) t.join();
    const EvalResult a = one.result(), b = four.result();
    CHECK(a.correct == b.correct);
    CHECK(a.confusion == b.confusion);
    CHECK(a.predictions == b.predictions);
    CHECK(a.sample_accuracy == b.sample_accuracy);
    CHECK(a.top5_correct == b.top5_correct);
    // and the per-pixel argmax is numpy's: the first of equal largest values
    if (maps) {
      int64_t right = 0;
      for (size_t s = 0; s < 64; ++s)
        for (size_t px = 0; px < 42; ++px) {
          int best = 0;
          for (int ch = 1; ch < 5; ++ch)
            if (outs[s].data[ch * 42 + px] > outs[s].data[best * 42 + px]) best = ch;
          right += best == l.values[s * 42 + px];
        }
      CHECK(a.correct == right);
    }
  }
}

TEST_CASE("EvalScorer: refusals: map size, class range, too many classes, reference") {
  EvalLabels maps;
  maps.values = std::vector<int>(2 * 4 * 4, 0);
  maps.n = 2;
  maps.h = maps.w = 4;
  maps.what = "--labels y.npy";
  const EvalScorer s(maps);
  std::string e = error_of([&] { s.check_output(8, 5, 5); });
  CHECK(e.find("--labels y.npy: maps of 4 x 4 pixels, but the network's output is 8x5x5") == 0);
  CHECK(e.find("give labels of shape (N, 5, 5)") != std::string::npos);
  EvalLabels cls;
  cls.values = {0, 1};
  cls.n = 2;
  const EvalScorer c(cls);
  e = error_of([&] { c.check_output(64, 48, 48); });
  CHECK(e.find("147456 elements") != std::string::npos);
  CHECK(e.find("give labels of shape (N, 48, 48)") != std::string::npos);
  CHECK(error_of([&] { c.check_output(10, 1, 1); }).empty());
  const std::vector<int> ref = {0, 1};
  CHECK(error_of([&] { EvalScorer x(maps, &ref); }).find("reference") != std::string::npos);
  const EvalLabels parsed = eval_labels_from_array(array(DType::I64, {1, 2, 2}, {0, 1, 2, 3}), "f");
  CHECK(parsed.maps());
  CHECK(parsed.h == 2);
  CHECK(error_of([] { eval_labels_from_array(array(DType::I64, {1, 4}, {0, 1, 2, 3}), "f"); })
            .find("shape (N, H, W)") != std::string::npos);
}

TEST_CASE("eval_labels_from_npy: labels in their own dtype, as eval_labels_from_array") {
  // The same maps stored as u8, i16, u32 and i64 (unaligned too) give the same labels.
  const std::vector<int64_t> shape{2, 1, 3};
  const std::vector<int> want{0, 5, 250, 3, 1, 2};
  auto view = [&](DType t, const std::string& bytes) {
    NpyData d;
    d.dtype = t;
    d.shape = shape;
    d.data = bytes.data();
    d.count = want.size();
    return d;
  };
  auto bytes_of = [&](auto type_tag, size_t skew) {
    using T = decltype(type_tag);
    std::string b(skew, '\0');
    for (int v : want) {
      const T x = static_cast<T>(v);
      b.append(reinterpret_cast<const char*>(&x), sizeof x);
    }
    return b;
  };
  const std::string u8 = bytes_of(uint8_t{}, 0), i16 = bytes_of(int16_t{}, 1),
                    u32 = bytes_of(uint32_t{}, 3), i64 = bytes_of(int64_t{}, 5);
  for (const auto& [t, b, skew] : {std::tuple{DType::U8, &u8, 0}, {DType::I16, &i16, 1},
                                   {DType::U32, &u32, 3}, {DType::I64, &i64, 5}}) {
    NpyData d = view(t, *b);
    d.data += skew;
    const EvalLabels l = eval_labels_from_npy(d, "y.npy");
    CHECK(l.values == want);
    CHECK(l.n == 2);
    CHECK(l.h == 1);
    CHECK(l.w == 3);
    CHECK(l.what == "y.npy");
  }
  // A negative label, one past int, and a float array are refused with the element named.
  const std::vector<int64_t> bad{0, 1, -7, 2, 3, 4};
  const std::string nb(reinterpret_cast<const char*>(bad.data()), 48);
  NpyData n = view(DType::I64, nb);
  CHECK(error_of([&] { eval_labels_from_npy(n, "y.npy"); })
            .find("y.npy: element 2 is -7; labels must be class indices >= 0") !=
        std::string::npos);
  const std::vector<uint64_t> huge{0, 1, 2, 3, uint64_t{1} << 31, 4};
  const std::string hb(reinterpret_cast<const char*>(huge.data()), 48);
  NpyData h = view(DType::U64, hb);
  CHECK(error_of([&] { eval_labels_from_npy(h, "y.npy"); }).find("element 4 is 2147483648") !=
        std::string::npos);
  NpyData f = view(DType::F64, hb);
  CHECK(error_of([&] { eval_labels_from_npy(f, "y.npy"); })
            .find("dtype float64; labels must be integers") != std::string::npos);
  NpyData wrong = view(DType::U8, u8);
  wrong.shape = {6, 1};
  CHECK(error_of([&] { eval_labels_from_npy(wrong, "y.npy"); }).find("shape (N, H, W)") !=
        std::string::npos);
}
