// A stand-in for the Arduino Wire (I2C) library: only its object, which the pulse sensor's
// library is handed.
#pragma once
struct FakeWire {};
static FakeWire Wire;
