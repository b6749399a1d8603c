"""A Bumble controller that answers active scans the way a real one does.

Bumble's in-process controller reports a scan response carrying the advertising
data again and a fixed RSSI of -50 dBm. Real scanners get the advertiser's own
scan response data (where hipfirst sensors put their local name) and an RSSI
that differs per device. :class:`VirtualController` fixes both for legacy-PDU
advertising; everything else (extended PDUs, connection set-up) is Bumble's.
"""

from __future__ import annotations

import asyncio
import logging

from bumble import hci, ll
from bumble.controller import Controller
from bumble.controller import logger as _controller_logger

DEFAULT_RSSI_DBM = -50

_EXT = hci.HCI_LE_Extended_Advertising_Report_Event
_LEGACY = hci.HCI_LE_Advertising_Report_Event
_PROP_CONNECTABLE = 0x01
_PROP_SCANNABLE = 0x02
_PROP_LEGACY = 0x10


class VirtualController(Controller):
    """Controller on a :class:`~bumble.link.LocalLink` with faithful scan reports.

    ``rssi_dbm`` is the signal strength other controllers report for this one.
    """

    rssi_dbm: int = DEFAULT_RSSI_DBM
    _active_scan: bool = True
    # LE Data Length Extension, as on current controllers: a 247-byte ATT PDU (+4 bytes
    # L2CAP header) travels as one 251-byte link-layer packet instead of 27-byte pieces.
    le_acl_data_packet_length = 251
    supported_max_tx_octets = 251
    supported_max_rx_octets = 251
    suggested_max_tx_octets = 251

    # Bumble formats every HCI packet into its debug log message even when debug logging
    # is off; on the data path that costs more than the radio itself. Same behaviour,
    # minus the formatting, unless debug logging is on.
    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _controller_logger.isEnabledFor(logging.DEBUG):
            super().send_hci_packet(packet)
        elif self.host:
            asyncio.get_running_loop().call_soon(self.host.on_packet, bytes(packet))

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if isinstance(packet, hci.HCI_AclDataPacket) and not _controller_logger.isEnabledFor(
            logging.DEBUG
        ):
            self.on_hci_acl_data_packet(packet)
        else:
            super().on_hci_packet(packet)

    def on_hci_le_set_extended_scan_parameters_command(
        self, command: hci.HCI_LE_Set_Extended_Scan_Parameters_Command
    ) -> hci.HCI_StatusReturnParameters:
        active = hci.HCI_LE_Set_Extended_Scan_Parameters_Command.ACTIVE_SCANNING
        self._active_scan = any(t == active for t in command.scan_types)
        return super().on_hci_le_set_extended_scan_parameters_command(command)

    def on_hci_le_set_scan_parameters_command(
        self, command: hci.HCI_LE_Set_Scan_Parameters_Command
    ) -> hci.HCI_StatusReturnParameters:
        active = hci.HCI_LE_Set_Scan_Parameters_Command.ACTIVE_SCANNING
        self._active_scan = command.le_scan_type == active
        return super().on_hci_le_set_scan_parameters_command(command)

    def on_advertising_pdu(self, pdu: ll.AdvInd | ll.AdvExtInd) -> None:
        found = self._legacy_advertiser(pdu) if self.le_scan_enable else None
        if found is None:
            super().on_advertising_pdu(pdu)
            return
        properties, scan_response, rssi = found
        self._report(pdu.advertiser_address, properties, bytes(pdu.data), rssi, scan_rsp=False)
        if self._active_scan and properties & _PROP_SCANNABLE:
            self._report(pdu.advertiser_address, properties, scan_response, rssi, scan_rsp=True)
        # Let Bumble do the rest (pending connection, periodic sync) without reporting twice.
        self.le_scan_enable = False
        try:
            super().on_advertising_pdu(pdu)
        finally:
            self.le_scan_enable = True

    def _legacy_advertiser(self, pdu: ll.AdvInd | ll.AdvExtInd) -> tuple[int, bytes, int] | None:
        """(event properties, scan response data, RSSI) of a legacy-PDU advertiser."""
        address = pdu.advertiser_address
        sender = self.link.find_le_controller(address)
        if sender is None:
            return None
        rssi = getattr(sender, "rssi_dbm", DEFAULT_RSSI_DBM)
        legacy = sender.le_legacy_advertiser
        if isinstance(pdu, ll.AdvInd):
            if legacy.enabled and legacy.address == address:
                props = _PROP_LEGACY | _PROP_CONNECTABLE | _PROP_SCANNABLE  # ADV_IND
                return props, bytes(legacy.scan_response_data), rssi
            return None
        for adv_set in sender.advertising_sets.values():
            if adv_set.enabled and adv_set.address == address and adv_set.parameters:
                props = int(adv_set.parameters.advertising_event_properties)
                if props & _PROP_LEGACY:
                    return props, bytes(adv_set.scan_response_data), rssi
        return None

    def _report(
        self, address: hci.Address, props: int, data: bytes, rssi: int, *, scan_rsp: bool
    ) -> None:
        if self.le_features & hci.LeFeatureMask.LE_EXTENDED_ADVERTISING:
            event_type = _EXT.EventType.LEGACY_ADVERTISING_PDU_USED
            if props & _PROP_CONNECTABLE:
                event_type |= _EXT.EventType.CONNECTABLE_ADVERTISING
            if props & _PROP_SCANNABLE:
                event_type |= _EXT.EventType.SCANNABLE_ADVERTISING
            if scan_rsp:
                event_type |= _EXT.EventType.SCAN_RESPONSE
            report = _EXT.Report(
                event_type=int(event_type),
                address_type=address.address_type,
                address=address,
                primary_phy=hci.Phy.LE_1M,
                secondary_phy=0,
                advertising_sid=0xFF,
                tx_power=_EXT.TX_POWER_INFORMATION_NOT_AVAILABLE,
                rssi=rssi,
                periodic_advertising_interval=0,
                direct_address_type=0,
                direct_address=hci.Address.ANY,
                data=data,
            )
            self.send_hci_packet(_EXT([report]))
        else:
            legacy_type = _LEGACY.EventType.SCAN_RSP if scan_rsp else _LEGACY.EventType.ADV_IND
            report = _LEGACY.Report(
                event_type=legacy_type,
                address_type=address.address_type,
                address=address,
                data=data,
                rssi=rssi,
            )
            self.send_hci_packet(_LEGACY([report]))
