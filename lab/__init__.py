"""Transfer Lab: an interactive Jupyter widget lab for transfer learning."""
