/* Host stub of the izer-generated cnn.c for testing kat_main.c: a sparse data memory, FIFOs
 * that record what is pushed, and a "CNN" that, when the harness waits for it, checks that the
 * sample's input arrived (in memory or through the FIFOs) and then plays back the sample's
 * expected output words from kat_samples.h. STUB_CORRUPT="SAMPLE:WORD" flips the lowest
 * checked bit of checked word WORD of sample SAMPLE after the playback.
 * Build: gcc -DKAT_HOST -I<this dir> -I<kat dir> kat_main.c stub_cnn.c */
#include <stdio.h>
#include <stdlib.h>

#include "cnn.h"
#include "kat_samples.h"

#define SLOTS (1u << 22)
static uint32_t slot_addr[SLOTS];
static uint32_t slot_value[SLOTS];
static unsigned char slot_used[SLOTS];
static int sample = -1, started = 0;
static uint32_t *fifo_words[4];
static uint32_t fifo_count[4];

volatile uint32_t *stub_word(uint32_t addr)
{
  uint32_t h = (addr >> 2) * 2654435761u & (SLOTS - 1);
  while (slot_used[h] && slot_addr[h] != addr) h = (h + 1) & (SLOTS - 1);
  if (!slot_used[h]) {
    slot_used[h] = 1;
    slot_addr[h] = addr;
    slot_value[h] = 0;
  }
  return (volatile uint32_t *) &slot_value[h];
}

void stub_fifo_push(uint32_t fifo, uint32_t word)
{
  if (fifo >= 4 || !started) {
    printf("stub: push to FIFO %u %s\n", (unsigned) fifo, started ? "(no such FIFO)" : "before cnn_start()");
    exit(3);
  }
  if (!fifo_words[fifo]) fifo_words[fifo] = malloc(sizeof(uint32_t) * KAT_INPUT_WORDS);
  if (fifo_count[fifo] >= KAT_INPUT_WORDS) {
    printf("stub: FIFO %u overrun\n", (unsigned) fifo);
    exit(3);
  }
  fifo_words[fifo][fifo_count[fifo]++] = word;
}

static void check_input(void)
{
  int a;
  uint32_t i;
  for (a = 0; a < KAT_INPUT_ARRAYS; a++)
    for (i = 0; i < kat_input_length[a]; i++) {
      const uint32_t want = kat_input[sample][kat_input_offset[a] + i];
#if KAT_FIFO
      const uint32_t t = kat_input_target[a];
      const uint32_t got = i < fifo_count[t] ? fifo_words[t][i] : 0xdeadbeefu;
#else
      const uint32_t got = *stub_word(kat_input_target[a] + 4u * i);
#endif
      if (got != want) {
        printf("stub: sample %d: input array %d word %u: 0x%08x, expected 0x%08x\n", sample, a,
               (unsigned) i, (unsigned) got, (unsigned) want);
        exit(3);
      }
    }
}

void stub_wait(void)
{
  int j, s = -1, w = -1;
  const char *corrupt = getenv("STUB_CORRUPT");
  if (!started) {
    printf("stub: waiting for a CNN that was not started\n");
    exit(3);
  }
  check_input();
  for (j = 0; j < KAT_CHECK_WORDS; j++) {
    volatile uint32_t *p = stub_word(kat_check_address[j]);
    *p = (*p & ~kat_check_mask[j]) | kat_expected[sample][j];
  }
  if (corrupt && sscanf(corrupt, "%d:%d", &s, &w) == 2 && s == sample && w >= 0 &&
      w < KAT_CHECK_WORDS) {
    const uint32_t m = kat_check_mask[w];
    *stub_word(kat_check_address[w]) ^= m & (~m + 1u);
  }
  started = 0;
  cnn_time = 1;
}

int cnn_enable(uint32_t clock_source, uint32_t clock_divider)
{
  (void) clock_source;
  (void) clock_divider;
  return 0;
}
int cnn_disable(void) { return 0; }
int cnn_init(void) { return 0; }
int cnn_configure(void) { return 0; }
int cnn_load_weights(void) { return 0; }
int cnn_load_bias(void) { return 0; }
int cnn_start(void)
{
  int f;
  cnn_time = 0;
  sample++;
  started = 1;
  for (f = 0; f < 4; f++) fifo_count[f] = 0;
  return 0;
}
