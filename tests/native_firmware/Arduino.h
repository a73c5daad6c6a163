// A stand-in for the Arduino core, just enough to run bruxwatch_emg.ino natively in tests.
// The clock, the ADC and the serial port are driven by harness.cpp.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define A0 14
#define A1 15
#define OUTPUT 1

uint32_t micros();
uint32_t millis();
uint16_t analogRead(uint8_t pin);
void analogWrite(uint8_t pin, int value);
void pinMode(uint8_t pin, uint8_t mode);
inline void analogReadResolution(int) {}
inline void delay(unsigned long) {}
inline void noInterrupts() {}
inline void interrupts() {}

template <class T, class L, class H>
T constrain(T x, L lo, H hi) { return x < lo ? (T)lo : (x > hi ? (T)hi : x); }

struct FakeSerial {
  void begin(long) {}
  int available();
  int read();
  size_t write(const uint8_t *data, size_t n) { return fwrite(data, 1, n, stdout); }
  void print(const char *s) { fputs(s, stdout); }
  void print(long v) { printf("%ld", v); }
  void println(const char *s) { printf("%s\r\n", s); }
  void println(long v) { printf("%ld\r\n", v); }
};
extern FakeSerial Serial;
