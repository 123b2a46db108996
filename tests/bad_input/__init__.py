"""Bad-input cases, one file per package module (``tests/bad_input/<module>.py``).

Each file defines

* ``CASES``: a list of :class:`~tests.bad_input._harness.Case`, each a bad call of one public
  function that must raise an error whose message names the argument or the condition;
* ``EXEMPT`` (optional): ``{"module.function": "reason"}`` for public names that take no input a
  user could get wrong (constants builders, classes whose constructor is checked elsewhere).

``tests/test_bad_input.py`` runs every case and fails when a public function of a covered module has
neither a case nor an exemption; ``tools/bad_input_sweep.py`` runs the same cases and prints counts.
"""
