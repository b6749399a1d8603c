"""Everything that talks to devices: BLE transport, device protocols, virtual sensors, firmware."""
