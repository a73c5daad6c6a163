// Runs the bruxwatch_emg_ble sketch against a simulated clock, ADC and BLE stack.
// Usage: harness_ble END_US [AT_US:command | AT_US:stall=US ...]
//   stdout: "N <hex>" per notification, then "I <info characteristic>" and "O <overruns>";
//   a stall keeps loop() from running for US microseconds (a radio call that blocks).
#include "ArduinoBLE.h"

static uint32_t now_us = 0;
static uint32_t adc_reads = 0;
bool ble_connected = true;
FakeBLE BLE;
FakeSerial Serial;
int FakeSerial::available() { return 0; }
int FakeSerial::read() { return -1; }
uint32_t micros() { return now_us; }
uint32_t millis() { return now_us / 1000; }
uint16_t analogRead(uint8_t pin) {  // channel c of read k: (k * 7 + c * 100) % 4096
  uint32_t k = adc_reads / 2;
  adc_reads++;
  return (uint16_t)((k * 7 + (pin - A0) * 100) % 4096);
}
void analogWrite(uint8_t pin, int value) { fprintf(stderr, "pwm %d %d %u\n", pin, value, now_us); }
void pinMode(uint8_t, uint8_t) {}

#include "../../hardware/firmware/bruxwatch_emg_ble/bruxwatch_emg_ble.ino"

int main(int argc, char **argv) {
  uint32_t end = (uint32_t)strtoul(argv[1], NULL, 10);
  setup();
  int next = 2;
  uint32_t stalled_until = 0;
  for (now_us = 0; now_us < end; now_us += 50) {
    while (next < argc && strtoul(argv[next], NULL, 10) <= now_us) {
      const char *command = strchr(argv[next], ':') + 1;
      if (strncmp(command, "stall=", 6) == 0) {
        stalled_until = now_us + (uint32_t)strtoul(command + 6, NULL, 10);
      } else {
        commandChar.central_writes(command);
      }
      next++;
    }
    if (now_us >= stalled_until) loop();
  }
  printf("I %.*s\n", infoChar.valueLength(), (const char *)infoChar.value());
  printf("O %u\n", (unsigned)overruns);
  fflush(stdout);
  return 0;
}
