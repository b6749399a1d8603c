# Pin maps and parts per board. Pick one in config.py (BOARD = "m5stickc_plus2" | "esp32_generic").
# M5StickC Plus2: pins from M5Stack's published pin map (IMU MPU6886 on I2C 21/22 at 0x68,
# buzzer on G2, button A on G37, battery voltage divider on G38, hold pin G4 keeps power on).

BOARDS = {
    "m5stickc_plus2": {
        "i2c": (0, 22, 21),  # id, scl, sda
        "imu": "mpu6886",
        "imu_addr": 0x68,
        "buzzer_pin": 2,  # passive buzzer: PWM tone = "haptic" cue you hear and feel
        "motor_pin": None,
        "button_pin": 37,
        "battery_adc_pin": 38,
        "battery_divider": 2.0,
        "hold_pin": 4,
        "screen": {"sck": 13, "mosi": 15, "cs": 5, "dc": 14, "reset": 12, "backlight": 27},
    },
    "esp32_generic": {
        "i2c": (0, 22, 21),
        "imu": "mpu6050",  # or "icm42688"
        "imu_addr": 0x68,
        "buzzer_pin": None,
        "motor_pin": 25,  # vibration motor through an NPN transistor / MOSFET, flyback diode
        "button_pin": 0,
        "battery_adc_pin": 35,
        "battery_divider": 2.0,
        "hold_pin": None,
        "screen": None,
    },
}
