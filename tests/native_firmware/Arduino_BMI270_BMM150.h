// A stand-in for the Arduino_BMI270_BMM150 library (the Nano 33 BLE Sense Rev2's IMU), just
// enough to run bruxwatch_emg_ble.ino natively in tests: the acceleration it reads is a
// function of the clock, so a test knows what each reading must hold. X is the whole
// milliseconds since boot modulo 30000, in mg; Y is minus X; Z is 1 g. With the environment
// variable NO_IMU set, begin() fails, as on a board whose IMU does not answer.
#pragma once
#include "Arduino.h"

struct FakeIMU {
  bool begin() { return getenv("NO_IMU") == NULL; }
  bool accelerationAvailable() { return true; }
  bool readAcceleration(float &x, float &y, float &z) {
    float mg = (float)(millis() % 30000);
    x = mg / 1000.0f;
    y = -mg / 1000.0f;
    z = 1.0f;
    return true;
  }
};
static FakeIMU IMU;
