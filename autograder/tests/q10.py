from otter.test_files import test_case

OK_FORMAT = False

name = "q10"
points = 1

@test_case(points=0, hidden=False)
def test_q10_format(minutes_to_exfil):
    import pandas as pd

    def given(x, var):
        assert x is not None, f'{var} is not defined (or is None): run the cell that sets it'
        assert x is not Ellipsis, f'{var} is still ...: replace the ... with your answer'
        return x

    def number(x):
        import datetime
        import numbers
        import numpy as np
        given(x, 'minutes_to_exfil')
        if isinstance(x, (pd.Timedelta, datetime.timedelta, np.timedelta64)):
            raise AssertionError(f'minutes_to_exfil is a Timedelta ({pd.Timedelta(x)}), not a number of minutes: use .total_seconds() / 60')
        if isinstance(x, (pd.Series, pd.Index, np.ndarray, list, tuple)):
            raise AssertionError(f'minutes_to_exfil is a {type(x).__name__} of {len(x)} values, not one number: take the one value you need (for example .iloc[0])')
        assert isinstance(x, numbers.Real) and (not isinstance(x, bool)), f'minutes_to_exfil should be a number, not {type(x).__name__}'
        assert x == x and abs(x) != float('inf'), 'minutes_to_exfil should be a finite number'
        return float(x)
    minutes = number(minutes_to_exfil)
    assert minutes >= 0, f'minutes_to_exfil is {minutes:g}: the download came after the privilege change, so it should not be negative'

@test_case(points=1, hidden=True)
def test_q10_value(minutes_to_exfil):
    import pandas as pd

    def given(x, var):
        assert x is not None, f'{var} is not defined (or is None): run the cell that sets it'
        assert x is not Ellipsis, f'{var} is still ...: replace the ... with your answer'
        return x

    def number(x):
        import datetime
        import numbers
        import numpy as np
        given(x, 'minutes_to_exfil')
        if isinstance(x, (pd.Timedelta, datetime.timedelta, np.timedelta64)):
            raise AssertionError(f'minutes_to_exfil is a Timedelta ({pd.Timedelta(x)}), not a number of minutes: use .total_seconds() / 60')
        if isinstance(x, (pd.Series, pd.Index, np.ndarray, list, tuple)):
            raise AssertionError(f'minutes_to_exfil is a {type(x).__name__} of {len(x)} values, not one number: take the one value you need (for example .iloc[0])')
        assert isinstance(x, numbers.Real) and (not isinstance(x, bool)), f'minutes_to_exfil should be a number, not {type(x).__name__}'
        assert x == x and abs(x) != float('inf'), 'minutes_to_exfil should be a finite number'
        return float(x)

    def answer_key():
        import json
        with open('data/answer_key.json', encoding='utf-8') as fh:
            return json.load(fh)
    assert abs(number(minutes_to_exfil) - answer_key()['minutes_to_exfil']) <= 1, 'minutes_to_exfil is off by more than a minute'

