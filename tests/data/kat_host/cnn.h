/* Host stand-in for the izer-generated cnn.h: the API kat_main.c calls (tests only). */
#ifndef KAT_HOST_CNN_H
#define KAT_HOST_CNN_H
#include <stdint.h>

extern volatile uint32_t cnn_time;
int cnn_enable(uint32_t clock_source, uint32_t clock_divider);
int cnn_disable(void);
int cnn_init(void);
int cnn_configure(void);
int cnn_load_weights(void);
int cnn_load_bias(void);
int cnn_start(void);

/* The hardware accesses kat_main.c makes, redirected to the stub. */
volatile uint32_t *stub_word(uint32_t addr);
void stub_fifo_push(uint32_t fifo, uint32_t word);
void stub_wait(void);
#define KAT_WORD(addr) (*stub_word(addr))
#define KAT_FIFO_PUSH(fifo, word) stub_fifo_push((fifo), (word))
#define KAT_WAIT() stub_wait()
#define KAT_ENABLE() cnn_enable(0, 0)
#endif
