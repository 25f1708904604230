"""Tests of the emulator's Ninox 4 Public API flavour (and, later, its connectors' backend)."""
