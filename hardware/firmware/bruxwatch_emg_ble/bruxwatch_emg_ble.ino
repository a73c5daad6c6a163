// bruxwatch_emg_ble: MyoWare 2.0 EMG sampler for bruxwatch over Bluetooth LE.
//
// Same sampling and frames as bruxwatch_emg (the serial firmware), carried in BLE
// notifications instead of a serial port: one frame per notification, without the sync word
// (a notification is already delimited). Written for the ArduinoBLE library, which runs on
// the Arduino Nano 33 BLE / Nano 33 BLE Sense (nRF52840), the Nano ESP32 and the UNO R4 WiFi.
// The GATT layout is specified in hardware/README.md ("BLE protocol"); the host side is
// bruxwatch/devices/ble_emg.py.
//
//   service  68830001-c0c3-422a-b597-8023cc741e36
//   data     68830002-...  notify  sample frames, and '#' text replies
//   command  68830003-...  write   "start", "stop", "info", "vibrate <ms> <strength>"
//   info     68830004-...  read    "fw=1.1.0 fs=1000 bits=12 channels=2 kind=raw imu=25"
//
// With an IMU (IMU_HZ > 0: the Nano 33 BLE Sense Rev2's BMI270, read through the
// Arduino_BMI270_BMM150 library) the board also notifies motion frames on the data
// characteristic: the same layout with type 2, the first reading's index on the IMU's clock
// (reading k is taken with sample k x SAMPLE_RATE_HZ / IMU_HZ), C = 3, N x 3 int16 mg.
// On a board without an IMU set IMU_HZ to 0: the info then has no "imu=" and no motion
// frame is sent. (A Rev1 board's LSM9DS1: include Arduino_LSM9DS1.h instead; its IMU object
// reads acceleration the same way.)
//
// With a pulse sensor (PPG_HZ 50: a MAX30102 breakout on a finger or the earlobe, on the I2C
// pins) the info says " ppg=50" and the board notifies pulse frames: type 3, the first
// reading's index (reading m is taken with sample m x SAMPLE_RATE_HZ / PPG_HZ), C = 1, N
// uint16 readings: the infrared LED's reflection, the top 16 of the sensor's 18 bits.
//
// Frame (little-endian): version(1) type(1=samples) first_index(uint32) C N
// N x C uint16 counts (sample-major) CRC-16/CCITT-FALSE(poly 0x1021, init 0xFFFF) of all
// preceding bytes. 20 samples x 2 channels = 90 bytes: the central must negotiate an ATT MTU
// of at least 93 (BlueZ, macOS, Windows and Android all offer 185-517).

#include <Arduino.h>
#include <ArduinoBLE.h>
#ifndef IMU_HZ
#define IMU_HZ 25              // accelerometer readings per second; 0 on a board without one
#endif
#if IMU_HZ
#include <Arduino_BMI270_BMM150.h>
#endif
#ifndef PPG_HZ
#define PPG_HZ 0               // 50 with a MAX30102 pulse sensor on the I2C pins (SDA, SCL)
#endif
#if PPG_HZ
#include <Wire.h>
#include "MAX30105.h"          // SparkFun MAX3010x library; it drives the MAX30102 too
MAX30105 pulseSensor;
#endif

// ------------------------------------------------------------------ settings
#define FIRMWARE_VERSION "1.1.0"
#define DEVICE_NAME "bruxwatch-EMG"
#define SAMPLE_RATE_HZ 1000
#define N_CHANNELS 2
#define SIGNAL_KIND "raw"
#define SAMPLES_PER_FRAME 20   // 20 ms of signal per notification at 1 kHz: 50 per second
#define ADC_BITS 12
#define VIBRATION_PIN 9        // PWM -> 1 kOhm -> NPN base; motor with a 1N4148 flyback diode
const uint8_t ADC_PINS[N_CHANNELS] = {A0, A1};

#define UUID(x) "6883" x "-c0c3-422a-b597-8023cc741e36"

BLEService emgService(UUID("0001"));
BLECharacteristic dataChar(UUID("0002"), BLENotify, 10 + 2 * N_CHANNELS * SAMPLES_PER_FRAME + 2);
BLECharacteristic commandChar(UUID("0003"), BLEWrite | BLEWriteWithoutResponse, 48);
BLECharacteristic infoChar(UUID("0004"), BLERead, 64);

const uint8_t PROTOCOL_VERSION = 1, TYPE_SAMPLES = 1, TYPE_MOTION = 2, TYPE_PULSE = 3;
const uint16_t RING = 256;  // 256 ms at 1 kHz: rides out a slow connection event

uint16_t ring[RING][N_CHANNELS];
uint32_t ringIndex[RING];  // each buffered sample's index since "start"
uint16_t ringHead = 0, ringTail = 0;
bool streaming = false;
uint32_t sampleIndex = 0;  // index of the next sample taken
uint32_t overruns = 0;
uint32_t nextSampleMicros = 0;
uint32_t vibrateUntil = 0;
bool vibrating = false;


uint16_t crc16Ccitt(const uint8_t *data, size_t length, uint16_t crc) {
  for (size_t i = 0; i < length; i++) {
    crc ^= (uint16_t)data[i] << 8;
    for (uint8_t bit = 0; bit < 8; bit++) {
      crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
  }
  return crc;
}

// Every frame's header (version, type, first index, C, N); returns its length.
size_t frameHeader(uint8_t *frame, uint8_t type, uint32_t first, uint8_t channels, uint8_t count) {
  size_t n = 0;
  frame[n++] = PROTOCOL_VERSION;
  frame[n++] = type;
  for (uint8_t b = 0; b < 4; b++) frame[n++] = (first >> (8 * b)) & 0xFF;
  frame[n++] = channels;
  frame[n++] = count;
  return n;
}

// Append the CRC of the n bytes so far and notify the frame.
void notifyFrame(uint8_t *frame, size_t n) {
  uint16_t crc = crc16Ccitt(frame, n, 0xFFFF);
  frame[n++] = crc & 0xFF;
  frame[n++] = crc >> 8;
  dataChar.writeValue(frame, n);
}

uint16_t buffered() { return (ringHead + RING - ringTail) % RING; }

#if IMU_HZ
const uint16_t MOTION_RING = 32;       // 1.3 s of readings
const uint8_t READINGS_PER_FRAME = 5;  // 5 motion notifications a second at 25 Hz
int16_t motion[MOTION_RING][3];        // X, Y, Z in mg
uint32_t motionIndex[MOTION_RING];
uint16_t motionHead = 0, motionTail = 0;
bool imuPresent = false;

// Take reading k with sample k x SAMPLE_RATE_HZ / IMU_HZ: the IMU's latest acceleration (g)
// in mg. A full ring drops the reading; its index is skipped, so the host records a gap.
void readMotion(uint32_t reading) {
  uint16_t next = (motionHead + 1) % MOTION_RING;
  if (next == motionTail) return;
  static float g[3] = {0, 0, 0};  // nothing new from the IMU: the last reading holds
  if (IMU.accelerationAvailable()) IMU.readAcceleration(g[0], g[1], g[2]);
  for (uint8_t a = 0; a < 3; a++) {
    motion[motionHead][a] = (int16_t)constrain(lroundf(g[a] * 1000.0f), -32768L, 32767L);
  }
  motionIndex[motionHead] = reading;
  motionHead = next;
}

uint16_t motionBuffered() { return (motionHead + MOTION_RING - motionTail) % MOTION_RING; }

void sendMotion() {
  uint8_t frame[10 + 2 * 3 * READINGS_PER_FRAME + 2];
  uint32_t first = motionIndex[motionTail];
  uint8_t count = 1;
  while (count < READINGS_PER_FRAME &&
         motionIndex[(motionTail + count) % MOTION_RING] == first + count) count++;
  size_t n = frameHeader(frame, TYPE_MOTION, first, 3, count);
  for (uint8_t s = 0; s < count; s++) {
    for (uint8_t a = 0; a < 3; a++) {
      uint16_t v = (uint16_t)motion[motionTail][a];
      frame[n++] = v & 0xFF;
      frame[n++] = v >> 8;
    }
    motionTail = (motionTail + 1) % MOTION_RING;
  }
  notifyFrame(frame, n);
}
#endif

#if PPG_HZ
const uint16_t PULSE_RING = 64;        // 1.3 s of readings
const uint8_t PULSE_PER_FRAME = 10;    // 5 pulse notifications a second at 50 Hz
uint16_t pulse[PULSE_RING];
uint32_t pulseIndex[PULSE_RING];
uint16_t pulseHead = 0, pulseTail = 0;
bool ppgPresent = false;

// Take pulse reading m with sample m x SAMPLE_RATE_HZ / PPG_HZ: the sensor's newest infrared
// reading (the last one holds when none is new). A full ring drops it, an exact gap.
void readPulse(uint32_t reading) {
  static uint32_t last = 0;
  uint16_t next = (pulseHead + 1) % PULSE_RING;
  if (next == pulseTail) return;
  pulseSensor.check();
  while (pulseSensor.available()) {
    last = pulseSensor.getFIFOIR();
    pulseSensor.nextSample();
  }
  pulse[pulseHead] = (uint16_t)((last >> 2) & 0xFFFF);
  pulseIndex[pulseHead] = reading;
  pulseHead = next;
}

uint16_t pulseBuffered() { return (pulseHead + PULSE_RING - pulseTail) % PULSE_RING; }

void sendPulse() {
  uint8_t frame[10 + 2 * PULSE_PER_FRAME + 2];
  uint32_t first = pulseIndex[pulseTail];
  uint8_t count = 1;
  while (count < PULSE_PER_FRAME &&
         pulseIndex[(pulseTail + count) % PULSE_RING] == first + count) count++;
  size_t n = frameHeader(frame, TYPE_PULSE, first, 1, count);
  for (uint8_t s = 0; s < count; s++) {
    frame[n++] = pulse[pulseTail] & 0xFF;
    frame[n++] = pulse[pulseTail] >> 8;
    pulseTail = (pulseTail + 1) % PULSE_RING;
  }
  notifyFrame(frame, n);
}
#endif

void sampleDue() {
  const uint32_t period = 1000000UL / SAMPLE_RATE_HZ;
  while ((int32_t)(micros() - nextSampleMicros) >= 0) {
    nextSampleMicros += period;
    if (!streaming) continue;
    uint16_t next = (ringHead + 1) % RING;
    if (next == ringTail) {  // the radio fell behind: drop the sample; its index is skipped,
      overruns++;            // so the host records an exact gap
      sampleIndex++;
      continue;
    }
    for (uint8_t c = 0; c < N_CHANNELS; c++) ring[ringHead][c] = analogRead(ADC_PINS[c]);
#if IMU_HZ
    if (imuPresent && sampleIndex % (SAMPLE_RATE_HZ / IMU_HZ) == 0) {
      readMotion(sampleIndex / (SAMPLE_RATE_HZ / IMU_HZ));
    }
#endif
#if PPG_HZ
    if (ppgPresent && sampleIndex % (SAMPLE_RATE_HZ / PPG_HZ) == 0) {
      readPulse(sampleIndex / (SAMPLE_RATE_HZ / PPG_HZ));
    }
#endif
    ringIndex[ringHead] = sampleIndex++;
    ringHead = next;
  }
}

// Send up to SAMPLES_PER_FRAME consecutive samples (a frame ends early at a dropped sample).
void sendFrame() {
  uint8_t frame[10 + 2 * N_CHANNELS * SAMPLES_PER_FRAME + 2];
  uint32_t first = ringIndex[ringTail];
  uint8_t count = 1;
  while (count < SAMPLES_PER_FRAME &&
         ringIndex[(ringTail + count) % RING] == first + count) count++;
  size_t n = frameHeader(frame, TYPE_SAMPLES, first, N_CHANNELS, count);
  for (uint8_t s = 0; s < count; s++) {
    for (uint8_t c = 0; c < N_CHANNELS; c++) {
      uint16_t v = ring[ringTail][c];
      frame[n++] = v & 0xFF;
      frame[n++] = v >> 8;
    }
    ringTail = (ringTail + 1) % RING;
  }
  notifyFrame(frame, n);
}

// "fw=1.1.0 fs=1000 bits=12 channels=2 kind=raw" and " imu=25" when the IMU answered.
void describe(char *text, size_t size) {
  snprintf(text, size, "fw=%s fs=%d bits=%d channels=%d kind=%s", FIRMWARE_VERSION,
           SAMPLE_RATE_HZ, ADC_BITS, N_CHANNELS, SIGNAL_KIND);
#if IMU_HZ
  if (imuPresent) snprintf(text + strlen(text), size - strlen(text), " imu=%d", IMU_HZ);
#endif
#if PPG_HZ
  if (ppgPresent) snprintf(text + strlen(text), size - strlen(text), " ppg=%d", PPG_HZ);
#endif
}

void reply(const char *text) {
  dataChar.writeValue((const uint8_t *)text, strlen(text));
}

void handleCommand(char *line) {
  char *word = strtok(line, " \r\n");
  char text[80];
  if (word == NULL) return;
  if (strcmp(word, "start") == 0) {
    ringHead = ringTail = 0;
#if IMU_HZ
    motionHead = motionTail = 0;
#endif
#if PPG_HZ
    pulseHead = pulseTail = 0;
#endif
    sampleIndex = 0;
    nextSampleMicros = micros();
    streaming = true;
  } else if (strcmp(word, "stop") == 0) {
    streaming = false;
  } else if (strcmp(word, "info") == 0) {
    strcpy(text, "#info ");
    describe(text + 6, sizeof(text) - 7);
    strcat(text, "\n");
    reply(text);
  } else if (strcmp(word, "vibrate") == 0) {
    char *ms = strtok(NULL, " \r\n");
    char *strength = strtok(NULL, " \r\n");
    if (ms == NULL || strength == NULL) {
      reply("#error usage: vibrate <ms> <strength>\n");
      return;
    }
    long duration = constrain(atol(ms), 1, 5000);
    long pwm = constrain(atol(strength), 0, 255);
    analogWrite(VIBRATION_PIN, (int)pwm);
    vibrating = pwm > 0;
    vibrateUntil = millis() + duration;
    snprintf(text, sizeof(text), "#ok vibrate %ld %ld\n", duration, pwm);
    reply(text);
  } else {
    reply("#error unknown command\n");
  }
}

void setup() {
  pinMode(VIBRATION_PIN, OUTPUT);
  analogWrite(VIBRATION_PIN, 0);
  analogReadResolution(ADC_BITS);
  if (!BLE.begin()) {
    while (true) delay(1000);  // no radio: nothing to do
  }
#if IMU_HZ
  imuPresent = IMU.begin();  // a board whose IMU does not answer says no "imu="
#endif
#if PPG_HZ
  // infrared and red LEDs (mode 2) at a moderate current, 4-sample averaging of 200 reads a
  // second (50 readings a second), 411-us pulses (18 bits), 16384-count range
  ppgPresent = pulseSensor.begin(Wire, I2C_SPEED_FAST);
  if (ppgPresent) pulseSensor.setup(0x1F, 4, 2, 200, 411, 16384);
#endif
  char info[64];
  describe(info, sizeof(info));
  infoChar.writeValue((const uint8_t *)info, strlen(info));
  BLE.setLocalName(DEVICE_NAME);
  BLE.setDeviceName(DEVICE_NAME);
  BLE.setAdvertisedService(emgService);
  emgService.addCharacteristic(dataChar);
  emgService.addCharacteristic(commandChar);
  emgService.addCharacteristic(infoChar);
  BLE.addService(emgService);
  BLE.setConnectionInterval(6, 12);  // 7.5-15 ms: room for 50 notifications per second
  BLE.advertise();
  nextSampleMicros = micros();
}

void loop() {
  BLE.poll();
  sampleDue();
  BLEDevice central = BLE.central();
  if (!central || !central.connected()) {
    streaming = false;  // the host sends "start" again after it reconnects
  }
  if (commandChar.written()) {
    char line[49];
    int length = commandChar.valueLength();
    if (length > 48) length = 48;
    memcpy(line, commandChar.value(), length);
    line[length] = '\0';
    handleCommand(line);
  }
  if (streaming && buffered() >= SAMPLES_PER_FRAME) sendFrame();
#if IMU_HZ
  if (streaming && motionBuffered() >= READINGS_PER_FRAME) sendMotion();
#endif
#if PPG_HZ
  if (streaming && pulseBuffered() >= PULSE_PER_FRAME) sendPulse();
#endif
  if (vibrating && (int32_t)(millis() - vibrateUntil) >= 0) {
    analogWrite(VIBRATION_PIN, 0);
    vibrating = false;
  }
}
