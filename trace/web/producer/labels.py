"""Labels for a lot: QR codes and a print-ready A4 sheet (issue "The producer app")."""
