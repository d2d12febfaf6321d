#include "ai8xsim/device.h"

#include <algorithm>
#include <cctype>

#include "ai8xsim/error.h"

namespace ai8xsim {

namespace {

// Settings shared by both devices (izer's Dev base class and the values AI85 and AI87 agree on).
DeviceSpec common_spec() {
  DeviceSpec s;
  s.p_numgroups = 4;
  s.p_numpro = 16;
  s.p_shared = 4;
  s.max_proc = s.p_numpro * s.p_numgroups;
  s.max_channels = 16 * s.max_proc;
  s.max_stream_layers = 8;
  s.apb_base = 0x50000000u;
  s.frame_size_max = 1 << 21;
  s.bias_div = 128;
  s.default_weight_bits = 8;
  s.activation_bits = 8;
  s.supported_x2d_pads = {0, 1, 2};
  s.supported_x2d_output_pads = {1};
  s.support_gcfr = true;
  s.support_sim_preload = true;
  s.require_sema_lpwken = true;
  s.require_2x_mp_passthrough = true;
  return s;
}

// The numbers izer's AI85 (MAX78000) and AI87 (MAX78002) classes give plainly, side by side.
struct DeviceNumber {
  int DeviceSpec::*field;
  int max78000, max78002;
};
constexpr DeviceNumber kNumbers[] = {
    // hardware layers
    {&DeviceSpec::max_layers, 32, 128},
    {&DeviceSpec::max_row_col, 1024, 2048},
    // data memory (x32 words)
    {&DeviceSpec::instance_size, 2048, 8192},
    {&DeviceSpec::instance_width, 2048, 5120},
    {&DeviceSpec::instance_count, 1, 5},
    {&DeviceSpec::instance_shift, 13, 17},
    {&DeviceSpec::write_ptr_shift, 13, 15},
    // TRAM, bias bytes per group, kernel memory
    {&DeviceSpec::tram_size, 3072, 12288},
    {&DeviceSpec::tram_offs, 4096, 16384},
    {&DeviceSpec::bias_size, 512, 2048},
    {&DeviceSpec::mask_offs, 1024, 8192},
    // register field widths (bits)
    {&DeviceSpec::max_cnt_bits, 10, 11},
    {&DeviceSpec::max_ptr_bits, 17, 21},
    {&DeviceSpec::max_tptr_bits, 12, 14},
    {&DeviceSpec::max_isval_bits, 14, 15},
    {&DeviceSpec::max_dsval2_bits, 12, 14},
    {&DeviceSpec::max_fbuf_bits, 17, 18},
    {&DeviceSpec::max_ifrm_bits, 20, 22},
    {&DeviceSpec::max_wptrinc_bits, 4, 8},
};
// APB addresses: the CNN base and the step between groups, and the memories as offsets from
// the CNN base.
struct DeviceAddress {
  uint32_t DeviceSpec::*field;
  uint32_t max78000, max78002;
  bool from_cnn_base;
};
constexpr DeviceAddress kAddresses[] = {
    {&DeviceSpec::c_cnn_base, 0x100000u, 0x1000000u, false},
    {&DeviceSpec::c_group_offs, 0x400000u, 0x1000000u, false},
    {&DeviceSpec::c_bram_base, 0x8000u, 0x180000u, true},
    {&DeviceSpec::c_tram_base, 0x10000u, 0x200000u, true},
    {&DeviceSpec::c_mram_base, 0x80000u, 0x400000u, true},
    {&DeviceSpec::c_sram_base, 0x300000u, 0x800000u, true},
};

void set_numbers(DeviceSpec& s, int column) {
  for (const DeviceNumber& n : kNumbers) s.*n.field = column == 0 ? n.max78000 : n.max78002;
  for (const DeviceAddress& a : kAddresses)  // the CNN base comes first
    s.*a.field = (a.from_cnn_base ? s.c_cnn_base : 0) + (column == 0 ? a.max78000 : a.max78002);
  s.max_dilation_1d = s.max_row_col - 1;
}

DeviceSpec max78000_spec() {
  DeviceSpec s = common_spec();
  s.device = Device::MAX78000;
  s.partnum = "MAX78000";
  s.code = 85;
  set_numbers(s, 0);
  s.max_start_layer = 0;
  s.mem_size = s.instance_size * s.p_numpro * s.p_numgroups / s.p_shared;
  s.mask_width_small = s.mask_instance_small = 768;
  s.mask_width_large = s.mask_instance_large = 768;
  s.mask_instances = s.mask_instances_each = 1;
  s.require_flatten_bias_first = true;
  s.require_mp_kernoff_multiwrite = true;
  s.emulate_eltwise_mp = true;
  s.support_latency_calc = true;
  return s;
}

DeviceSpec max78002_spec() {
  DeviceSpec s = common_spec();
  s.device = Device::MAX78002;
  s.partnum = "MAX78002";
  s.code = 87;
  set_numbers(s, 1);
  s.max_start_layer = s.max_layers - 1;
  s.mem_size = s.instance_width * s.p_numpro * s.p_numgroups / s.p_shared;
  s.mask_instances = 8;
  s.mask_instances_each = 4;
  s.mask_instance_large = 1024;
  s.mask_instance_small = 256;
  s.mask_width_small = s.mask_instances_each * s.mask_instance_large;
  s.mask_width_large = s.mask_width_small + s.mask_instances_each * s.mask_instance_small;
  s.max_pool_dilation = 1 << 4;
  s.max_pool_passes = 1 << 16;
  s.ipo_speed = 120;
  s.apb_speed = s.ipo_speed / 2;
  s.pll_speed = 200;
  s.default_switch_delay = 10;

  s.support_stream_bias = s.support_depthwise = s.support_calcx4 = true;
  s.support_pipeline = s.support_pll = s.support_binary_weights = true;
  s.support_link_layer = s.support_read_ahead = s.support_multipass_stride = true;
  s.support_kernel_bypass = s.support_fifo_go = s.support_snoop = true;
  s.support_stream_nonpad_final = s.support_oneshot = true;
  s.support_multipass_padded_conv1d = false;
  s.support_multipass_eltwise_conv_bias = false;
  s.support_streaming_passthrough = false;
  s.support_rollover_read = false;
  s.require_reg_clear = true;
  s.require_oneshot_clear = false;
  s.require_new_streaming = true;
  s.require_fifo_cpl = false;
  s.require_pmon_gpio = true;
  s.require_passthrough_avgpool_after_eltwise = true;
  s.require_weight_mask = true;
  s.modern_sim = true;
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

uint32_t DeviceSpec::datamem_map(uint64_t proc, bool quad) const {
  if (quad) proc |= 0x0001000100010001ull;
  uint32_t map = 0;
  for (int p = 0; p < p_numpro * p_numgroups && p < 64; ++p)
    if (proc >> p & 1) map |= 1u << (p / p_shared);
  return map;
}

const DeviceSpec& device_spec(Device d) {
  static const DeviceSpec max78000 = max78000_spec();
  static const DeviceSpec max78002 = max78002_spec();
  return d == Device::MAX78002 ? max78002 : max78000;
}

Device parse_device(const std::string& name) {
  const std::string n = lower(name);
  if (n == "max78000" || n == "ai85" || n == "85") return Device::MAX78000;
  if (n == "max78002" || n == "ai87" || n == "87") return Device::MAX78002;
  fail(ErrorKind::Config, "device: found `" + name +
                              "`; allowed: MAX78000 (also ai85, 85) or MAX78002 (also ai87, 87), "
                              "in any letter case");
}

}  // namespace ai8xsim
