from otter.test_files import test_case

OK_FORMAT = False

name = "q12"
points = 3

@test_case(points=0, hidden=False)
def test_q12_shape(transfer_principal, transfer_key, transfer_objects):
    import pandas as pd
    import re

    def given(x, var):
        assert x is not None, f'{var} is not defined (or is None): run the cell that sets it'
        assert x is not Ellipsis, f'{var} is still ...: replace the ... with your answer'
        return x

    def strings(x, var):
        given(x, var)
        if isinstance(x, pd.DataFrame):
            raise AssertionError(f"{var} is a DataFrame: put the values in a list, for example frame['user'].unique().tolist()")
        if isinstance(x, (str, bytes, dict)) or not hasattr(x, '__iter__'):
            raise AssertionError(f'{var} should be a list (or tuple, set, array, Series), not {type(x).__name__}')
        vals = [v for v in list(x) if not (v is None or (isinstance(v, float) and v != v))]
        bad = [v for v in vals if not isinstance(v, str)]
        assert not bad, f'{var} should hold strings, but holds {type(bad[0]).__name__} values'
        return vals
    given(transfer_principal, 'transfer_principal')
    given(transfer_key, 'transfer_key')
    assert isinstance(transfer_principal, str) and transfer_principal.strip(), f'transfer_principal should be a value of the user column (a non-empty string), not {type(transfer_principal).__name__}'
    assert isinstance(transfer_key, str), f'transfer_key should be a string, not {type(transfer_key).__name__}'
    assert re.fullmatch('(AKIA|ASIA)[A-Z0-9]{16}', transfer_key.strip()), f'transfer_key {transfer_key!r} does not look like an access key id (AKIA... or ASIA..., 20 characters)'
    objects = strings(transfer_objects, 'transfer_objects')
    assert objects, 'transfer_objects is empty: list the objects that were downloaded'
    odd = [o for o in objects if '/' not in o.strip().strip('/')]
    assert not odd, f'transfer_objects holds "{odd[0]}", which is not written bucket/key as the resource column shows an object'

@test_case(points=1, hidden=True)
def test_q12_principal(transfer_principal):
    import pandas as pd

    def answer_key():
        import json
        with open('data/answer_key.json', encoding='utf-8') as fh:
            return json.load(fh)
    right = isinstance(transfer_principal, str) and transfer_principal.strip() == answer_key()['transfer']['principal']
    assert right, 'transfer_principal is not the session whose credentials were used from outside'

@test_case(points=1, hidden=True)
def test_q12_key(transfer_key):
    import pandas as pd

    def answer_key():
        import json
        with open('data/answer_key.json', encoding='utf-8') as fh:
            return json.load(fh)
    right = isinstance(transfer_key, str) and transfer_key.strip() == answer_key()['transfer']['access_key']
    assert right, 'transfer_key is not the key those calls were made with'

@test_case(points=1, hidden=True)
def test_q12_objects(transfer_objects):
    import pandas as pd

    def answer_key():
        import json
        with open('data/answer_key.json', encoding='utf-8') as fh:
            return json.load(fh)
    ok = isinstance(transfer_objects, (list, tuple, set, pd.Series)) and all((isinstance(o, str) for o in transfer_objects))
    right = ok and {o.strip() for o in transfer_objects} == set(answer_key()['transfer']['objects'])
    assert right, 'transfer_objects is not exactly the objects downloaded with those credentials'

