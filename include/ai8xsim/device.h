// ai8xsim: the constants of the two CNN accelerators as izer's tornadocnn.py describes them
// (device classes AI85 = MAX78000 and AI87 = MAX78002): limits, memories, capability flags,
// register field widths and clocks. Field names are izer's constant names in snake case.
// Sizes marked "x32" count 32-bit words, as in izer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ai8xsim/config.h"

namespace ai8xsim {

struct DeviceSpec {
  Device device = Device::MAX78000;
  const char* partnum = "";  // "MAX78000" / "MAX78002"
  int code = 0;              // izer's device number: 85 / 87

  // ---- processors and layers
  int max_layers = 0;         // hardware layers
  int max_stream_layers = 0;  // layers that may stream
  int max_start_layer = 0;    // highest `--start-layer`
  int p_numgroups = 0;        // x16 groups ("quadrants")
  int p_numpro = 0;           // processors per group
  int p_shared = 0;           // processors sharing one data memory instance
  int max_proc = 0;           // p_numpro * p_numgroups = 64
  int max_channels = 0;       // 16 passes x max_proc
  int max_row_col = 0;        // largest input/output row or column count

  // ---- data memory (x32 words unless noted)
  int instance_size = 0;   // address space of one data memory instance (includes holes)
  int instance_width = 0;  // real size of one instance
  int instance_count = 0;  // sub-instances per instance
  int instance_shift = 0;
  int write_ptr_shift = 0;
  int mem_size = 0;  // data memory per group (x32): instance_width * p_numpro / p_shared
  // Bytes of one data memory instance as izer's size checks count them (INSTANCE_WIDTH*16):
  // input/output offset + size must not exceed this. MAX78000 0x8000, MAX78002 0x14000.
  int instance_bytes() const { return instance_width * 16; }
  // `out_offset` must be below this (izer: 4*MEM_SIZE). MAX78000 0x20000, MAX78002 0x50000.
  int out_offset_limit() const { return 4 * mem_size; }
  uint32_t c_cnn_base = 0;
  uint32_t c_sram_base = 0;   // data memory base (APB)
  uint32_t c_group_offs = 0;  // address step between groups
  uint32_t c_tram_base = 0;
  uint32_t c_mram_base = 0;  // kernel memory base
  uint32_t c_bram_base = 0;  // bias memory base
  uint32_t apb_base = 0;
  int frame_size_max = 0;  // rows * columns * passes (cnn_ctl P_FRMABITS)

  // ---- kernel (weight) memory: one row holds one 9-byte (72-bit) kernel
  int mask_width_small = 0;     // kernel rows of a processor with small kernel memory
  int mask_width_large = 0;     // kernel rows of a processor with large kernel memory (p % 16 == 0)
  int mask_instances = 1;       // kernel memory instances of a large processor
  int mask_instances_each = 1;  // kernel memory instances of any other processor
  int mask_instance_small = 0;  // rows per small instance
  int mask_instance_large = 0;  // rows per large instance
  int mask_offs = 0;

  // ---- bias, TRAM
  int bias_size = 0;  // bias bytes per group
  int bias_div = 0;
  int tram_size = 0;
  int tram_offs = 0;

  // ---- numeric
  int default_weight_bits = 8;
  int activation_bits = 8;

  // ---- operator limits
  int max_dilation = 1;
  int max_dilation_1d = 1;         // largest Conv1d dilation
  int max_dilation_1d_kernel = 3;  // Conv1d kernels up to this length may use large dilation
  int max_dilation_1d_pad = 0;
  int max_pool_dilation = 1;
  int max_pool_passes = 1;                     // passes a pooling passthrough layer may use
  int max_pool_last_elements = 2;              // element-wise operands with `pool_first: False`
  std::vector<int> supported_x2d_pads;         // ConvTranspose2d hardware pads
  std::vector<int> supported_x2d_output_pads;  // ConvTranspose2d output pads

  // ---- register field widths (bits)
  int max_cnt_bits = 0;
  int max_ptr_bits = 0;
  int max_tptr_bits = 0;
  int max_isval_bits = 0;
  int max_dsval2_bits = 0;
  int max_fbuf_bits = 0;
  int max_ifrm_bits = 0;
  int max_wptrinc_bits = 0;

  // ---- clocks (MHz)
  int ipo_speed = 100;
  int apb_speed = 50;
  int pll_speed = 0;
  int max_no_pipeline_speed = 50;
  int max_cnnclkdiv = 16;
  int default_switch_delay = 0;

  // ---- capability flags (izer SUPPORT_*)
  bool support_stream_bias = false;
  bool support_depthwise = false;
  bool support_calcx4 = false;
  bool support_gcfr = false;
  bool support_pipeline = false;
  bool support_pll = false;
  bool support_binary_weights = false;
  bool support_link_layer = false;
  bool support_read_ahead = false;
  bool support_multipass_stride = false;
  bool support_multipass_read_stride = false;
  bool support_kernel_bypass = false;
  bool support_arbitrary_padding = false;
  bool support_arbitrary_stride = false;
  bool support_arbitrary_output_width = false;
  bool support_fifo_go = false;
  bool support_snoop = false;
  bool support_stream_nonpad_final = false;
  bool support_oneshot = false;
  bool support_multipass_padded_conv1d = true;
  bool support_multipass_x4_partialquad = false;
  bool support_multipass_eltwise_conv_bias = true;
  bool support_streaming_passthrough = true;
  bool support_rollover_read = true;
  bool support_latency_calc = false;
  bool support_sim_preload = false;

  // ---- requirements and emulations (izer REQUIRE_*, EMULATE_*, ...)
  bool require_reg_clear = false;
  bool require_sema_lpwken = false;
  bool require_oneshot_clear = true;
  bool require_new_streaming = false;
  bool require_fifo_cpl = true;
  bool require_flatten_bias_first = false;
  bool require_passthrough_avgpool_after_eltwise = false;
  bool require_weight_mask = false;
  bool require_2x_mp_passthrough = false;
  bool require_mp_kernoff_multiwrite = false;
  bool require_pmon_gpio = false;
  bool emulate_eltwise_mp = false;
  bool emulate_1x1_streaming = true;
  bool use_processors = true;
  bool modern_sim = false;

  // ---- helpers (izer's Dev methods)
  // Processor `proc` has the large kernel memory (the first processor of each group).
  bool mask_large(int proc) const { return proc % p_numpro == 0; }
  // Kernel rows available to processor `proc`.
  int mask_width(int proc) const { return mask_large(proc) ? mask_width_large : mask_width_small; }
  int mask_count(int proc) const { return mask_large(proc) ? mask_instances : mask_instances_each; }
  // Data memory sub-instance holding byte offset `offs` of an instance.
  int datainstance_from_offs(int64_t offs) const {
    return static_cast<int>(offs /
                            (static_cast<int64_t>(instance_width) * p_shared * 4 / instance_count));
  }
  // Bit i set when data memory instance i (one per p_shared processors) is used by `proc`;
  // `quad`: the fast-FIFO quad mode also uses processors 16, 32 and 48.
  uint32_t datamem_map(uint64_t proc, bool quad = false) const;
};

// The constants of `d`.
const DeviceSpec& device_spec(Device d);

// parse_device(): ai8xsim/config.h.

}  // namespace ai8xsim
