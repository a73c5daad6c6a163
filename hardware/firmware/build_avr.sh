#!/usr/bin/env bash
# Compile and link bruxwatch_emg for an Arduino Uno (ATmega328P, 16 MHz) with Debian's avr-gcc
# and Arduino AVR core (apt-get install gcc-avr avr-libc arduino-core-avr): a check that the
# firmware builds, and a .hex to flash with avrdude. Usage: build_avr.sh [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/build}"
core=/usr/share/arduino/hardware/arduino/avr
mkdir -p "$out/core"
flags=(-mmcu=atmega328p -DF_CPU=16000000L -DARDUINO=10807 -DARDUINO_AVR_UNO -DARDUINO_ARCH_AVR
       -Os -ffunction-sections -fdata-sections -Wall -Wextra
       -I"$core/cores/arduino" -I"$core/variants/standard")
for src in "$core"/cores/arduino/*.c; do
  avr-gcc "${flags[@]}" -c "$src" -o "$out/core/$(basename "$src").o"
done
for src in "$core"/cores/arduino/*.cpp; do
  # DECIMAL_DIG: the Debian core expects a newer avr-libc than Debian ships
  avr-g++ "${flags[@]}" -DDECIMAL_DIG=9 -std=gnu++11 -fno-exceptions -fno-threadsafe-statics -c "$src" \
    -o "$out/core/$(basename "$src").o"
done
cp "$here/bruxwatch_emg/bruxwatch_emg.ino" "$out/bruxwatch_emg.cpp"
avr-g++ "${flags[@]}" -std=gnu++11 -fno-exceptions -fno-threadsafe-statics -Werror \
  -include Arduino.h -c "$out/bruxwatch_emg.cpp" -o "$out/bruxwatch_emg.o"
avr-gcc -mmcu=atmega328p -Os -Wl,--gc-sections -o "$out/bruxwatch_emg.elf" \
  "$out/bruxwatch_emg.o" "$out"/core/*.o
avr-objcopy -O ihex -R .eeprom "$out/bruxwatch_emg.elf" "$out/bruxwatch_emg.hex"
avr-size "$out/bruxwatch_emg.elf"
