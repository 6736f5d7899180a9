"""Simulated devices behind their real protocols, each run as a process of its own: a charge
point with a car (OCPP 1.6J / 2.0.1, :mod:`.ocpp_charge_point`), a SunSpec battery, PV inverter
or site meter on Modbus TCP (:mod:`.sunspec_server`) and a heat pump on MQTT
(:mod:`.mqtt_heat_pump`). ``hems run --demo --devices protocols`` drives them
(:mod:`hems.demo_protocols`) and the device tests run them as the drivers' real peers, so the
demo needs nothing of the test suite."""
