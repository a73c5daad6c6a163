// Runs the bruxwatch_emg sketch against a simulated clock, ADC and serial port.
// Usage: harness END_US [AT_US:command ...]  -> the sketch's serial output on stdout,
// PWM changes on stderr as "pwm PIN VALUE AT_US".
#include "Arduino.h"

static uint32_t now_us = 0;
static uint32_t adc_reads = 0;
static const char *input = "";
static size_t input_pos = 0;
static char pending[4096];
static char scratch[4096];

FakeSerial Serial;
uint32_t micros() { return now_us; }
uint32_t millis() { return now_us / 1000; }
// channel c of sample k reads (k * 7 + c * 100) % 1024: the test knows every value
uint16_t analogRead(uint8_t pin) {
  uint32_t k = adc_reads / 2;
  adc_reads++;
  return (uint16_t)((k * 7 + (pin - A0) * 100) % 1024);
}
void analogWrite(uint8_t pin, int value) { fprintf(stderr, "pwm %d %d %u\n", pin, value, now_us); }
void pinMode(uint8_t, uint8_t) {}
int FakeSerial::available() { return (int)(strlen(input) - input_pos); }
int FakeSerial::read() { return available() > 0 ? input[input_pos++] : -1; }

#include "../../hardware/firmware/bruxwatch_emg/bruxwatch_emg.ino"

int main(int argc, char **argv) {
  uint32_t end = (uint32_t)strtoul(argv[1], NULL, 10);
  setup();
  int next = 2;
  for (now_us = 0; now_us < end; now_us += 50) {
    while (next < argc && strtoul(argv[next], NULL, 10) <= now_us) {
      const char *command = strchr(argv[next], ':') + 1;
      snprintf(scratch, sizeof scratch, "%s%s\n", input + input_pos, command);
      memcpy(pending, scratch, sizeof pending);
      input = pending;
      input_pos = 0;
      next++;
    }
    loop();
  }
  fflush(stdout);
  return 0;
}
