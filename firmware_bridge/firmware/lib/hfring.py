# Ring buffer of the most recent IMU packets, for BACKFILL requests (pure logic).


class PacketRing:
    """Keeps the last ``capacity`` packets by sequence number (u16, wrapping)."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._seqs = [-1] * capacity
        self._packets = [None] * capacity
        self._next = 0

    def put(self, seq: int, packet: bytes) -> None:
        self._seqs[self._next] = seq
        self._packets[self._next] = packet
        self._next = (self._next + 1) % self.capacity

    def get(self, seq: int):
        """The packet with this ``seq`` if still held, else None."""
        i = seq % self.capacity
        # Packets are put in seq order, so seq lands in slot (seq - first) mod capacity;
        # search all slots anyway: seq restarts on reboot and the cost is tiny.
        if self._seqs[i] == seq:
            return self._packets[i]
        for j in range(self.capacity):
            if self._seqs[j] == seq:
                return self._packets[j]
        return None

    def span(self, from_seq: int, count: int):
        """Held packets with seq in from_seq .. from_seq+count-1 (wrapping), in order."""
        out = []
        for k in range(count):
            p = self.get((from_seq + k) % 65536)
            if p is not None:
                out.append(p)
        return out
