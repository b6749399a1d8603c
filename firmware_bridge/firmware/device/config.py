# Edit before copying to the board (see ../README.md).
BOARD = "m5stickc_plus2"  # or "esp32_generic"
IMU = None  # None = the board's default; "mpu6050" | "mpu6886" | "icm42688"
RATE_HZ = 100
SUPPORTED_RATES = (50, 100, 200)
BACKFILL_PACKETS = 128  # ~12.8 s at 100 Hz of 10-sample packets; RAM: ~17 KB
FIRMWARE_VERSION = "1.0.0"
