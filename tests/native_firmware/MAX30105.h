// A stand-in for SparkFun's MAX3010x library, just enough to run bruxwatch_emg_ble.ino
// natively with PPG_HZ set: a new infrared reading every 20 ms (200 reads a second averaged
// by 4), each a function of the clock so a test knows what it must hold: 100000 + the
// whole milliseconds since boot modulo 4000. With NO_PPG set, begin() fails.
#pragma once
#include "Arduino.h"
#include "Wire.h"

#define I2C_SPEED_FAST 400000

struct MAX30105 {
  bool begin(FakeWire &, uint32_t) { return getenv("NO_PPG") == NULL; }
  void setup(uint8_t, uint8_t, uint8_t, int, int, int) {}
  uint16_t check() {
    uint32_t slot = millis() / 20;
    if (slot != read_slot) {
      read_slot = slot;
      pending = true;
      value = 100000UL + (millis() - millis() % 20) % 4000;
    }
    return pending ? 1 : 0;
  }
  uint8_t available() { return pending ? 1 : 0; }
  uint32_t getFIFOIR() { return value; }
  void nextSample() { pending = false; }
  uint32_t read_slot = 0xFFFFFFFF;
  uint32_t value = 0;
  bool pending = false;
};
