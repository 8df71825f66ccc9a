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
        return {'attacker_ips': ['198.51.100.161', '203.0.113.171'], 'compromised_user': 'd.whitfield', 'iocs': {'access_keys': {'accepted': [], 'required': ['AKIAJODEHWUOBWZY76LH', 'AKIAPJLAV3YUPLPZ5QCU', 'ASIAFN4V4WKZIPSVPE34']}, 'buckets': {'accepted': ['halyard-backups-eu-central-1', 'halyard-datalake-curated'], 'required': ['halyard-finance-exports']}, 'principals': {'accepted': [], 'required': ['DataPipelineRole/ops', 'd.whitfield', 'svc-backup']}, 'regions': {'accepted': [], 'required': ['ap-northeast-1']}, 'source_ips': {'accepted': [], 'required': ['198.51.100.161', '203.0.113.171']}}, 'minutes_to_exfil': 8.433333, 'transfer': {'access_key': 'ASIA5FLZVX4OPVKKVBMX', 'objects': ['mordors3stack-s3bucket-llp2yingx64a/ring.txt'], 'principal': 'MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0/i-0317f6c6b66ae9c40'}}
    assert abs(number(minutes_to_exfil) - answer_key()['minutes_to_exfil']) <= 1, 'minutes_to_exfil is off by more than a minute'

