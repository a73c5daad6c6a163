// A stand-in for the ArduinoBLE library, just enough to run bruxwatch_emg_ble.ino natively in
// tests. Notifications on the data characteristic are printed to stdout as hex lines; the
// harness decides when a central is connected and writes commands into the command
// characteristic.
#pragma once
#include "Arduino.h"

enum { BLERead = 1, BLEWrite = 2, BLEWriteWithoutResponse = 4, BLENotify = 8 };

extern bool ble_connected;

struct BLEService {
  explicit BLEService(const char *uuid) : uuid(uuid) {}
  void addCharacteristic(struct BLECharacteristic &) {}
  const char *uuid;
};

struct BLECharacteristic {
  BLECharacteristic(const char *uuid, int properties, int size)
      : uuid(uuid), properties(properties), size(size) {}
  bool writeValue(const uint8_t *data, int length) {
    if (length > size) {
      fprintf(stderr, "value of %d bytes exceeds the characteristic's %d\n", length, size);
      exit(3);
    }
    memcpy(stored, data, length);
    stored_length = length;
    if ((properties & BLENotify) && ble_connected) {
      printf("N ");
      for (int i = 0; i < length; i++) printf("%02x", data[i]);
      printf("\n");
    }
    return true;
  }
  bool written() {
    bool was = fresh;
    fresh = false;
    return was;
  }
  const uint8_t *value() const { return stored; }
  int valueLength() const { return stored_length; }
  void central_writes(const char *text) {  // the harness: a central wrote this
    stored_length = (int)strlen(text);
    memcpy(stored, text, stored_length);
    fresh = true;
  }
  const char *uuid;
  int properties;
  int size;
  uint8_t stored[512] = {0};
  int stored_length = 0;
  bool fresh = false;
};

struct BLEDevice {
  bool present;
  explicit operator bool() const { return present; }
  bool connected() const { return present; }
};

struct FakeBLE {
  bool begin() { return true; }
  void setLocalName(const char *) {}
  void setDeviceName(const char *) {}
  void setAdvertisedService(BLEService &) {}
  void addService(BLEService &) {}
  void setConnectionInterval(int, int) {}
  void advertise() {}
  void poll() {}
  BLEDevice central() { return BLEDevice{ble_connected}; }
};
extern FakeBLE BLE;
