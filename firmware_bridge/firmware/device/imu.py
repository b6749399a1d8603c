# IMU drivers reading the hardware FIFO in bursts. Each returns samples as 6-tuples of
# int16 (ax ay az gx gy gz) at the configured output data rate, in the chip's axes.
# Register maps per the vendors' datasheets (MPU-6050 RM-MPU-6000A, MPU-6886, ICM-42688-P);
# not yet verified on every board: see README.md "Status".
import struct
import time

_ACC_FS = {2: 0, 4: 1, 8: 2, 16: 3}  # MPU family ACCEL_CONFIG FS_SEL
_GYR_FS = {250: 0, 500: 1, 1000: 2, 2000: 3}


class MpuFifo:
    """MPU-6050 / MPU-6886: 1 kHz internal rate divided down, FIFO of accel + gyro."""

    PKT = 12  # accel 6 + gyro 6 (MPU-6886 adds temperature: 14)

    def __init__(self, i2c, addr=0x68, with_temp=False):
        self.i2c, self.addr = i2c, addr
        self.pkt = 14 if with_temp else 12
        self.with_temp = with_temp
        self._w(0x6B, 0x80)  # reset
        time.sleep_ms(100)
        self._w(0x6B, 0x01)  # clock from gyro PLL
        time.sleep_ms(10)
        self._w(0x1A, 0x03)  # DLPF ~44 Hz, 1 kHz internal
        self.overflowed = False

    def _w(self, reg, val):
        self.i2c.writeto_mem(self.addr, reg, bytes([val]))

    def _r(self, reg, n):
        return self.i2c.readfrom_mem(self.addr, reg, n)

    def configure(self, rate_hz, acc_g=8, gyr_dps=2000):
        self._w(0x19, max(0, 1000 // rate_hz - 1))  # SMPLRT_DIV
        self._w(0x1C, _ACC_FS[acc_g] << 3)
        self._w(0x1B, _GYR_FS[gyr_dps] << 3)
        self._w(0x6A, 0x04)  # FIFO reset
        self._w(0x6A, 0x40)  # FIFO enable
        self._w(0x23, 0x18 if self.with_temp else 0x78)  # gyro + accel into FIFO

    def read(self):
        """All complete samples in the FIFO (a burst); flags overflow (INT_STATUS bit 4)."""
        if self._r(0x3A, 1)[0] & 0x10:
            self.overflowed = True
            self._w(0x6A, 0x44)  # reset + keep enabled
            return []
        n = struct.unpack(">H", self._r(0x72, 2))[0] // self.pkt
        out = []
        for _ in range(n):
            b = self._r(0x74, self.pkt)
            if self.with_temp:
                ax, ay, az, _t, gx, gy, gz = struct.unpack(">7h", b)
            else:
                ax, ay, az, gx, gy, gz = struct.unpack(">6h", b)
            out.append((ax, ay, az, gx, gy, gz))
        return out


class Icm42688Fifo:
    """ICM-42688-P: FIFO packets of 16 bytes (header, accel, gyro, temp, timestamp)."""

    _ODR = {1000: 6, 200: 7, 100: 8, 50: 9, 500: 15}
    _ACC = {16: 0, 8: 1, 4: 2, 2: 3}
    _GYR = {2000: 0, 1000: 1, 500: 2, 250: 3, 125: 4}

    def __init__(self, i2c, addr=0x68):
        self.i2c, self.addr = i2c, addr
        self.i2c.writeto_mem(addr, 0x11, b"\x01")  # soft reset
        time.sleep_ms(10)
        self.overflowed = False

    def configure(self, rate_hz, acc_g=8, gyr_dps=2000):
        odr = self._ODR[rate_hz]
        w = self.i2c.writeto_mem
        w(self.addr, 0x4F, bytes([(self._GYR[gyr_dps] << 5) | odr]))
        w(self.addr, 0x50, bytes([(self._ACC[acc_g] << 5) | odr]))
        w(self.addr, 0x16, b"\x40")  # FIFO stream mode
        w(self.addr, 0x5F, b"\x07")  # accel + gyro + temp packets
        w(self.addr, 0x4E, b"\x0f")  # accel + gyro low-noise mode
        time.sleep_ms(50)

    def read(self):
        n = struct.unpack(">H", self.i2c.readfrom_mem(self.addr, 0x2E, 2))[0] // 16
        out = []
        for _ in range(n):
            b = self.i2c.readfrom_mem(self.addr, 0x30, 16)
            if b[0] & 0x80:  # empty-FIFO header
                break
            ax, ay, az, gx, gy, gz = struct.unpack_from(">6h", b, 1)
            out.append((ax, ay, az, gx, gy, gz))
        return out


def make_imu(kind, i2c, addr):
    if kind == "mpu6886":
        return MpuFifo(i2c, addr, with_temp=True)
    if kind == "mpu6050":
        return MpuFifo(i2c, addr)
    if kind == "icm42688":
        return Icm42688Fifo(i2c, addr)
    raise ValueError("unknown IMU " + kind)
