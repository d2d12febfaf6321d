#include "sim/memory/kat_harness.h"

#include <cstdio>
#include <sstream>

#include "ai8xsim/error.h"
#include "ai8xsim/device.h"
#include "sim/io/c_source.h"

namespace ai8xsim {

namespace {

// `values` as C initializer lines of 8, indented by `indent`.
void words_lines(std::ostringstream& s, const std::vector<uint32_t>& values,
                 const std::string& indent) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (i % 8 == 0) s << indent;
    s << c_hex32(values[i]) << (i + 1 < values.size() ? "," : "");
    s << (i % 8 == 7 || i + 1 == values.size() ? "\n" : " ");
  }
}

}  // namespace

std::string kat_samples_h(const Network& net, const std::vector<KatSample>& samples) {
  if (samples.empty()) fail(ErrorKind::Input, "kat --samples: the file holds no sample");
  if (net.fast_fifo)
    fail(ErrorKind::Config,
         "kat --samples: --fast-fifo: the harness drives the standard FIFOs only; run without "
         "--fast-fifo, or use --sample-input for izer's files");
  const bool fifo = net.fifo;
  const KatSample& first = samples.front();
  // Every sample has the same arrays and checked words (the network's layout); only values
  // differ.
  for (size_t k = 1; k < samples.size(); ++k) {
    const KatSample& o = samples[k];
    bool same = o.inputs.size() == first.inputs.size() && o.words.size() == first.words.size();
    for (size_t a = 0; same && a < o.inputs.size(); ++a)
      same = o.inputs[a].words.size() == first.inputs[a].words.size() &&
             o.inputs[a].address == first.inputs[a].address;
    for (size_t j = 0; same && j < o.words.size(); ++j)
      same = o.words[j].address == first.words[j].address &&
             o.words[j].mask == first.words[j].mask;
    if (!same)
      fail(ErrorKind::Internal, "kat --samples: sample " + std::to_string(k) +
                                    " has another memory layout than sample 0");
  }
  size_t input_words = 0;
  for (const SampleInputArray& a : first.inputs) input_words += a.words.size();
  const size_t n = samples.size(), checked = first.words.size();
  const DeviceSpec& spec = device_spec(net.device);

  std::ostringstream s;
  s << "// Known-answer tests of " << n << " sample(s) for " << net.config_file << " on "
    << spec.partnum << ",\n// written by `ai8xsim kat --samples` for kat_main.c.\n"
    << "#ifndef KAT_SAMPLES_H\n#define KAT_SAMPLES_H\n\n#include <stdint.h>\n\n"
    << "#define KAT_SAMPLES " << n << "\n"
    << "#define KAT_FIFO " << (fifo ? 1 : 0) << " // 1: the input goes through the FIFOs\n"
    << "#define KAT_INPUT_ARRAYS " << first.inputs.size() << "\n"
    << "#define KAT_INPUT_WORDS " << input_words << " // per sample, all arrays\n"
    << "#define KAT_CHECK_WORDS " << checked << " // output words compared per sample\n"
    // izer's FIFO registers: status at APB base + 4 (bit f: FIFO f full), data of FIFO f at
    // APB base + 8 + 4 f.
    << "#define KAT_FIFO_STATUS " << c_hex32(spec.apb_base + 4) << "u\n"
    << "#define KAT_FIFO_DATA " << c_hex32(spec.apb_base + 8) << "u\n\n";

  std::vector<uint32_t> target, offset, length;
  size_t at = 0;
  for (const SampleInputArray& a : first.inputs) {
    target.push_back(fifo ? static_cast<uint32_t>(a.fifo) : a.address);
    offset.push_back(static_cast<uint32_t>(at));
    length.push_back(static_cast<uint32_t>(a.words.size()));
    at += a.words.size();
  }
  s << "// Input array a: its data memory address (with KAT_FIFO: its FIFO), where it starts in\n"
    << "// kat_input[sample], and its length in words (izer's SAMPLE_INPUT_n arrays:";
  for (const SampleInputArray& a : first.inputs) s << " " << a.name;
  s << ").\n";
  s << "static const uint32_t kat_input_target[KAT_INPUT_ARRAYS] = {\n";
  words_lines(s, target, "  ");
  s << "};\nstatic const uint32_t kat_input_offset[KAT_INPUT_ARRAYS] = {\n";
  words_lines(s, offset, "  ");
  s << "};\nstatic const uint32_t kat_input_length[KAT_INPUT_ARRAYS] = {\n";
  words_lines(s, length, "  ");
  s << "};\n\nstatic const uint32_t kat_input[KAT_SAMPLES][KAT_INPUT_WORDS] = {\n";
  for (size_t k = 0; k < n; ++k) {
    std::vector<uint32_t> all;
    all.reserve(input_words);
    for (const SampleInputArray& a : samples[k].inputs)
      all.insert(all.end(), a.words.begin(), a.words.end());
    s << "  { // sample " << k << "\n";
    words_lines(s, all, "    ");
    s << "  },\n";
  }
  s << "};\n\n";

  std::vector<uint32_t> address, mask;
  for (const KatWord& w : first.words) {
    address.push_back(w.address);
    mask.push_back(w.mask);
  }
  s << "// Checked word j (izer's check_output() order): address and mask.\n"
    << "static const uint32_t kat_check_address[KAT_CHECK_WORDS] = {\n";
  words_lines(s, address, "  ");
  s << "};\nstatic const uint32_t kat_check_mask[KAT_CHECK_WORDS] = {\n";
  words_lines(s, mask, "  ");
  s << "};\n// What word j holds: layer, row, column, 1-D (row is the position), the channel in\n"
    << "// byte lanes 0..3 (-1: none; a 32-bit output holds one channel, lane 0).\n"
    << "static const int16_t kat_check_where[KAT_CHECK_WORDS][8] = {\n";
  for (const KatWord& w : first.words) {
    const WordAccess& a = w.access;
    const bool one_d = a.layer >= 0 && net.layers[static_cast<size_t>(a.layer)].one_d();
    s << "  {" << a.layer << ", " << a.row << ", " << a.col << ", " << (one_d ? 1 : 0);
    for (int i = 0; i < 4; ++i) s << ", " << a.channel[static_cast<size_t>(i)];
    s << "},\n";
  }
  s << "};\n\nstatic const uint32_t kat_expected[KAT_SAMPLES][KAT_CHECK_WORDS] = {\n";
  for (size_t k = 0; k < n; ++k) {
    std::vector<uint32_t> v;
    for (const KatWord& w : samples[k].words) v.push_back(w.value);
    s << "  { // sample " << k << "\n";
    words_lines(s, v, "    ");
    s << "  },\n";
  }
  s << "};\n\n#endif // KAT_SAMPLES_H\n";
  return s.str();
}

std::string kat_main_c(const Network& net) {
  const bool pll = net.device == Device::MAX78002;
  std::ostringstream s;
  s << R"(// Known-answer tests of many samples on the board, written by `ai8xsim kat --samples`.
// Use it in place of the izer-generated main.c, next to the generated cnn.c, cnn.h and
// weights.h, with kat_samples.h from the same command. For every sample: load the input, start
// the CNN, wait for it, compare the output words; prints PASS or FAIL per sample (each
// differing word with its layer, channel and pixel) and a summary.
// A host build (tests) defines KAT_HOST and its own KAT_WORD, KAT_WAIT, KAT_ENABLE.
#include <stdint.h>
#include <stdio.h>
#ifndef KAT_HOST
#include "mxc.h"
#endif
#include "cnn.h"
#include "kat_samples.h"

volatile uint32_t cnn_time; // set by CNN_ISR() in cnn.c when the CNN is done

#ifndef KAT_WORD
#define KAT_WORD(addr) (*((volatile uint32_t *) (addr)))
#endif
#ifndef KAT_FIFO_PUSH
#define KAT_FIFO_PUSH(fifo, word) \
  do { \
    while ((KAT_WORD(KAT_FIFO_STATUS) & (1u << (fifo))) != 0) ; \
    KAT_WORD(KAT_FIFO_DATA + 4u * (fifo)) = (word); \
  } while (0)
#endif
#ifndef KAT_WAIT
#define KAT_WAIT() MXC_LP_EnterSleepMode()
#endif
#ifndef KAT_ENABLE
)";
  if (pll)
    s << "#define KAT_ENABLE() \\\n  cnn_enable(MXC_S_GCR_PCLKDIV_CNNCLKSEL_IPLL, "
         "MXC_S_GCR_PCLKDIV_CNNCLKDIV_DIV4)\n";
  else
    s << "#define KAT_ENABLE() \\\n  cnn_enable(MXC_S_GCR_PCLKDIV_CNNCLKSEL_PCLK, "
         "MXC_S_GCR_PCLKDIV_CNNCLKDIV_DIV1)\n";
  s << R"(#endif
#ifndef KAT_MAX_REPORT
#define KAT_MAX_REPORT 8 // differing words listed per sample
#endif

static void kat_load_input(int s)
{
  const uint32_t *in = kat_input[s];
  uint32_t i;
  int a;
#if KAT_FIFO
  uint32_t longest = 0;
  for (a = 0; a < KAT_INPUT_ARRAYS; a++)
    if (kat_input_length[a] > longest) longest = kat_input_length[a];
  for (i = 0; i < longest; i++)
    for (a = 0; a < KAT_INPUT_ARRAYS; a++)
      if (i < kat_input_length[a])
        KAT_FIFO_PUSH(kat_input_target[a], in[kat_input_offset[a] + i]);
#else
  for (a = 0; a < KAT_INPUT_ARRAYS; a++)
    for (i = 0; i < kat_input_length[a]; i++)
      KAT_WORD(kat_input_target[a] + 4u * i) = in[kat_input_offset[a] + i];
#endif
}

// The number of output words of sample s that differ; lists the first KAT_MAX_REPORT.
static int kat_check(int s)
{
  int j, lane, channel, bad = 0;
  for (j = 0; j < KAT_CHECK_WORDS; j++) {
    const uint32_t want = kat_expected[s][j];
    const uint32_t got = KAT_WORD(kat_check_address[j]) & kat_check_mask[j];
    const int16_t *w = kat_check_where[j];
    if (got == want) continue;
    if (bad++ >= KAT_MAX_REPORT) continue;
    for (lane = 0; lane < 3 && ((got ^ want) & (0xffu << (8 * lane))) == 0; lane++) ;
    channel = w[4 + lane] >= 0 ? w[4 + lane] : w[4];
    printf("sample %d: word 0x%08x: expected 0x%08x, read 0x%08x (mask 0x%08x): "
           "layer %d channel %d ", s, (unsigned) kat_check_address[j], (unsigned) want,
           (unsigned) got, (unsigned) kat_check_mask[j], w[0], channel);
    if (w[3])
      printf("position %d\n", w[1]);
    else
      printf("pixel (%d, %d)\n", w[1], w[2]);
  }
  if (bad > KAT_MAX_REPORT)
    printf("sample %d: ... %d more words differ\n", s, bad - KAT_MAX_REPORT);
  return bad;
}

int main(void)
{
  int s, bad, failed = 0;

#ifndef KAT_HOST
  MXC_ICC_Enable(MXC_ICC0); // Enable cache
  MXC_SYS_Clock_Select(MXC_SYS_CLOCK_IPO);
)";
  if (pll) s << "  MXC_GCR->ipll_ctrl |= MXC_F_GCR_IPLL_CTRL_EN; // Enable IPLL\n";
  s << R"(  SystemCoreClockUpdate();
  MXC_Delay(SEC(2)); // Let a debugger interrupt if needed
#endif

  KAT_ENABLE(); // Enable the CNN, its interrupt and its clock
  cnn_init();
  cnn_load_weights(); // once: the kernels stay loaded

  printf("\n*** ai8xsim known-answer tests: %d sample(s) ***\n", KAT_SAMPLES);
  for (s = 0; s < KAT_SAMPLES; s++) {
    cnn_init(); // Bring state machine into consistent state
#ifdef KAT_RELOAD_WEIGHTS
    cnn_load_weights(); // -DKAT_RELOAD_WEIGHTS: load the kernels before every sample
#endif
    cnn_load_bias();
    cnn_configure();
#if KAT_FIFO
    cnn_start();
    kat_load_input(s);
#else
    kat_load_input(s);
    cnn_start();
#endif
    while (cnn_time == 0)
      KAT_WAIT(); // Wait for CNN

    bad = kat_check(s);
    if (bad) {
      failed++;
      printf("sample %d: FAIL (%d of %d words differ)\n", s, bad, KAT_CHECK_WORDS);
    } else {
      printf("sample %d: PASS\n", s);
    }
  }
  cnn_disable();

  printf("\nKAT: %d of %d samples pass\n", KAT_SAMPLES - failed, KAT_SAMPLES);
  printf(failed ? "\n*** FAIL ***\n\n" : "\n*** PASS ***\n\n");
  return failed ? 1 : 0;
}
)";
  return s.str();
}

}  // namespace ai8xsim
