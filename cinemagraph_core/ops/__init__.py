"""Small image operations shared by several stages (filters, morphology)."""
