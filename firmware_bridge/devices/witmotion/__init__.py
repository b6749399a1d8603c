"""WitMotion BLE IMUs (BWT901BLECL, WT901BLE): 0x55 0x61 frames on service FFE5."""
