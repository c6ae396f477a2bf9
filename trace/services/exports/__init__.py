"""Exports of the ledger: offline-verifiable bundles (bundle), GS1 EPCIS 2.0 (epcis), FSMA 204 spreadsheets (fsma204)."""
