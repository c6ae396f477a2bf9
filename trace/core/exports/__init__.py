"""Exports of the ledger: offline-verifiable bundles (EPCIS 2.0 and FSMA 204 come with the product families)."""
