"""``make prove``: formal proofs of qmac's RTL against an HDL specification (docs/prove.md)."""
