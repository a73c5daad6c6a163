"""Stand-ins for the hardware and the wearer, so everything runs on a bare laptop: the
simulated masseter signal (`simulator`), boards on a pseudo-terminal (`serial_boards`) and
behind a fake bleak backend (`ble_boards`), whole simulated nights recorded through the real
session (`nights`), and a stored night or file played back as a device (`replay`).

This layer sits above the store (nights are written and read with it) and below the
command line; `bruxwatch/sources.py` lists its sources beside the real devices."""
