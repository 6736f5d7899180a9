"""Interface B: the CEM's side of each device (ESA) protocol, behind one small driver interface
(:mod:`adapters.devices.driver`). Real protocols (OCPP, MQTT, Modbus, S2) plug in here."""
