from otter.test_files import test_case

OK_FORMAT = False

name = "q10"
points = 1

@test_case(points=0, hidden=False)
def test_q10_format(minutes_to_exfil):
    import pandas as pd

    def number(x):
        import numbers
        assert isinstance(x, numbers.Real) and (not isinstance(x, bool)), f'minutes_to_exfil should be a number, not {type(x).__name__}'
        assert x == x and abs(x) != float('inf'), 'minutes_to_exfil should be a finite number'
        return float(x)
    assert number(minutes_to_exfil) >= 0, 'minutes_to_exfil should not be negative'

@test_case(points=1, hidden=True)
def test_q10_value(minutes_to_exfil):
    import pandas as pd

    def number(x):
        import numbers
        assert isinstance(x, numbers.Real) and (not isinstance(x, bool)), f'minutes_to_exfil should be a number, not {type(x).__name__}'
        assert x == x and abs(x) != float('inf'), 'minutes_to_exfil should be a finite number'
        return float(x)
    assert abs(number(minutes_to_exfil) - 10) <= 1, 'minutes_to_exfil is off by more than a minute'

