"""govflow: lifecycle governance of e-government projects under 发改高技〔2013〕733号."""

__version__ = "0.1.0"
