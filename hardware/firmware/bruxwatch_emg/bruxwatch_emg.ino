// bruxwatch_emg: MyoWare 2.0 EMG sampler for the bruxwatch host program.
//
// Samples MyoWare 2.0 RAW (or ENV) outputs on A0 (and A1) at a fixed rate from a timer,
// streams them as binary frames with a sample index and CRC-16/CCITT-FALSE, and drives a
// coin vibration motor (through a transistor) on VIBRATION_PIN for biofeedback.
// The protocol is specified in hardware/README.md ("Serial protocol"); the host side is
// bruxwatch/devices/arduino_protocol.py. Boards: Arduino Uno/Nano (AVR, Timer1 interrupt),
// ESP32 / nRF52 / SAMD (micros() scheduler).

#include <Arduino.h>

// ------------------------------------------------------------------ settings
#define FIRMWARE_VERSION "1.0.0"
#define SAMPLE_RATE_HZ 1000      // 1 kHz: RAW needs >= 500 Hz; ENV is fine at 100 Hz
#define N_CHANNELS 2             // 1 or 2 (left and right masseter)
#define SIGNAL_KIND "raw"        // "raw" (MyoWare RAW pin) or "envelope" (ENV pin)
#define SAMPLES_PER_FRAME 10     // 10 samples = one frame every 10 ms at 1 kHz
#define SERIAL_BAUD 115200
#define VIBRATION_PIN 9          // PWM pin -> 1 kOhm -> NPN base (2N2222); motor + 1N4148 flyback diode
const uint8_t ADC_PINS[N_CHANNELS] = {A0, A1};

#if defined(ESP32)
#define ADC_BITS 12
#elif defined(__AVR__)
#define ADC_BITS 10
#else
#define ADC_BITS 10
#endif

// ------------------------------------------------------------------ protocol
const uint8_t SYNC0 = 0xA5, SYNC1 = 0x5A, PROTOCOL_VERSION = 1, TYPE_SAMPLES = 1;
const uint8_t RING = 128;  // samples buffered between the timer and the sender (128 ms at 1 kHz)

volatile uint16_t ring[RING][N_CHANNELS];
volatile uint8_t ringHead = 0;    // written by the sampler (8-bit: read atomically on AVR)
volatile uint8_t ringTail = 0;    // read by the sender
volatile bool streaming = false;
volatile uint32_t overruns = 0;
uint32_t frameIndex = 0;          // index of the next frame's first sample since `start`

uint32_t vibrateUntil = 0;
bool vibrating = false;
char command[48];
uint8_t commandLength = 0;

uint16_t crc16Ccitt(const uint8_t *data, size_t length, uint16_t crc) {
  for (size_t i = 0; i < length; i++) {
    crc ^= (uint16_t)data[i] << 8;
    for (uint8_t bit = 0; bit < 8; bit++) {
      crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
  }
  return crc;
}

void sampleOnce() {
  if (!streaming) return;
  uint8_t next = (ringHead + 1) % RING;
  if (next == ringTail) {  // the sender fell behind: drop this sample (the host sees a gap)
    overruns++;
    return;
  }
  for (uint8_t c = 0; c < N_CHANNELS; c++) ring[ringHead][c] = analogRead(ADC_PINS[c]);
  ringHead = next;
}

#if defined(__AVR__)
ISR(TIMER1_COMPA_vect) { sampleOnce(); }

void startTimer() {
  noInterrupts();
  TCCR1A = 0;
  TCCR1B = 0;
  TCNT1 = 0;
  OCR1A = (F_CPU / 8 / SAMPLE_RATE_HZ) - 1;  // prescaler 8
  TCCR1B |= (1 << WGM12) | (1 << CS11);      // CTC mode, clk/8
  TIMSK1 |= (1 << OCIE1A);
  interrupts();
}
#else
uint32_t nextSampleMicros = 0;
void startTimer() { nextSampleMicros = micros(); }
void pollTimer() {
  const uint32_t period = 1000000UL / SAMPLE_RATE_HZ;
  while ((int32_t)(micros() - nextSampleMicros) >= 0) {
    sampleOnce();
    nextSampleMicros += period;
  }
}
#endif

uint8_t buffered() { return (uint8_t)((ringHead + RING - ringTail) % RING); }

void sendFrame() {
  uint8_t frame[10 + 2 * N_CHANNELS * SAMPLES_PER_FRAME + 2];
  size_t n = 0;
  frame[n++] = SYNC0;
  frame[n++] = SYNC1;
  frame[n++] = PROTOCOL_VERSION;
  frame[n++] = TYPE_SAMPLES;
  for (uint8_t b = 0; b < 4; b++) frame[n++] = (frameIndex >> (8 * b)) & 0xFF;
  frame[n++] = N_CHANNELS;
  frame[n++] = SAMPLES_PER_FRAME;
  for (uint8_t s = 0; s < SAMPLES_PER_FRAME; s++) {
    for (uint8_t c = 0; c < N_CHANNELS; c++) {
      uint16_t v = ring[ringTail][c];
      frame[n++] = v & 0xFF;
      frame[n++] = v >> 8;
    }
    ringTail = (ringTail + 1) % RING;
  }
  uint16_t crc = crc16Ccitt(frame + 2, n - 2, 0xFFFF);
  frame[n++] = crc & 0xFF;
  frame[n++] = crc >> 8;
  Serial.write(frame, n);
  frameIndex += SAMPLES_PER_FRAME;
}

void vibrate(uint16_t ms, uint8_t strength) {
  analogWrite(VIBRATION_PIN, strength);
  vibrating = strength > 0;
  vibrateUntil = millis() + ms;
}

void handleCommand(char *line) {
  char *word = strtok(line, " \r");
  if (word == NULL) return;
  if (strcmp(word, "info") == 0) {
    Serial.print("#info fw=" FIRMWARE_VERSION " fs=");
    Serial.print(SAMPLE_RATE_HZ);
    Serial.print(" bits=");
    Serial.print(ADC_BITS);
    Serial.print(" channels=");
    Serial.print(N_CHANNELS);
    Serial.println(" kind=" SIGNAL_KIND);
  } else if (strcmp(word, "start") == 0) {
    noInterrupts();
    ringHead = ringTail = 0;
    interrupts();
    frameIndex = 0;
    streaming = true;
  } else if (strcmp(word, "stop") == 0) {
    streaming = false;
  } else if (strcmp(word, "vibrate") == 0) {
    char *ms = strtok(NULL, " \r");
    char *strength = strtok(NULL, " \r");
    if (ms == NULL || strength == NULL) {
      Serial.println("#error usage: vibrate <ms> <strength>");
      return;
    }
    long duration = constrain(atol(ms), 1, 5000);
    long pwm = constrain(atol(strength), 0, 255);
    vibrate((uint16_t)duration, (uint8_t)pwm);
    Serial.print("#ok vibrate ");
    Serial.print(duration);
    Serial.print(" ");
    Serial.println(pwm);
  } else {
    Serial.print("#error unknown command ");
    Serial.println(word);
  }
}

void setup() {
  pinMode(VIBRATION_PIN, OUTPUT);
  analogWrite(VIBRATION_PIN, 0);
#if defined(ESP32)
  analogReadResolution(ADC_BITS);
#endif
  Serial.begin(SERIAL_BAUD);
  startTimer();
}

void loop() {
#if !defined(__AVR__)
  pollTimer();
#endif
  while (Serial.available() > 0) {
    char ch = (char)Serial.read();
    if (ch == '\n') {
      command[commandLength] = '\0';
      handleCommand(command);
      commandLength = 0;
    } else if (commandLength < sizeof(command) - 1) {
      command[commandLength++] = ch;
    }
  }
  if (streaming && buffered() >= SAMPLES_PER_FRAME) sendFrame();
  if (vibrating && (int32_t)(millis() - vibrateUntil) >= 0) {
    analogWrite(VIBRATION_PIN, 0);
    vibrating = false;
  }
}
