from otter.test_files import test_case

OK_FORMAT = False

name = "q11"
points = 4

@test_case(points=0, hidden=False)
def test_q11_shape(iocs):
    import pandas as pd

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

    def ioc_kinds():
        return ['principals', 'access_keys', 'source_ips', 'regions', 'buckets']

    def ioc_lists(iocs):
        given(iocs, 'iocs')
        assert isinstance(iocs, dict), f'iocs should be a dict of lists by kind, not {type(iocs).__name__}'
        kinds = ioc_kinds()
        unknown = [k for k in iocs if k not in kinds]
        assert not unknown, f"iocs has keys that are not kinds of indicator: {', '.join((repr(k) for k in unknown))} (use {', '.join(kinds)})"
        missing = [k for k in kinds if k not in iocs]
        assert not missing, f"iocs lacks the kinds {', '.join(missing)}: give each kind a list (an empty one if you found none)"
        return {k: [v.strip() for v in strings(iocs[k], f"iocs['{k}']")] for k in kinds}
    lists = ioc_lists(iocs)
    assert any(lists.values()), 'iocs lists no indicator yet: fill in the kinds you found'

@test_case(points=0, hidden=False)
def test_q11_in_the_logs(iocs):
    import pandas as pd

    def given(x, var):
        assert x is not None, f'{var} is not defined (or is None): run the cell that sets it'
        assert x is not Ellipsis, f'{var} is still ...: replace the ... with your answer'
        return x

    def log(name):
        return pd.read_csv(f'data/{name}.csv', dtype=object, keep_default_na=False)

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

    def ioc_kinds():
        return ['principals', 'access_keys', 'source_ips', 'regions', 'buckets']

    def ioc_lists(iocs):
        given(iocs, 'iocs')
        assert isinstance(iocs, dict), f'iocs should be a dict of lists by kind, not {type(iocs).__name__}'
        kinds = ioc_kinds()
        unknown = [k for k in iocs if k not in kinds]
        assert not unknown, f"iocs has keys that are not kinds of indicator: {', '.join((repr(k) for k in unknown))} (use {', '.join(kinds)})"
        missing = [k for k in kinds if k not in iocs]
        assert not missing, f"iocs lacks the kinds {', '.join(missing)}: give each kind a list (an empty one if you found none)"
        return {k: [v.strip() for v in strings(iocs[k], f"iocs['{k}']")] for k in kinds}

    def ioc_seen():
        import re
        both = pd.concat([log('cloud_iam'), log('cloud_api')], ignore_index=True)
        keys = set(both['access_key_id'])
        for col in ('details', 'resource'):
            keys |= set(re.findall('\\b(?:AKIA|ASIA)[A-Z0-9]{16}\\b', ' '.join(both[col])))
        s3 = both[both['event_source'].str.startswith('s3')]
        seen = {'principals': set(both['user']), 'access_keys': keys, 'source_ips': set(both['source_ip']), 'regions': set(both['region']), 'buckets': {r.split('/')[0] for r in s3['resource']}}
        return {k: v - {''} for k, v in seen.items()}
    seen = ioc_seen()
    columns = {'principals': 'user', 'access_keys': 'access_key_id (or the details of a new key)', 'source_ips': 'source_ip', 'regions': 'region', 'buckets': 'resource of an S3 call'}
    for kind, values in ioc_lists(iocs).items():
        known = seen[kind] | ({p.split('/')[0] for p in seen[kind]} if kind == 'principals' else set())
        absent = [v for v in values if v not in known]
        assert not absent, f'iocs["{kind}"] holds "{absent[0]}", which occurs nowhere in the logs ({columns[kind]}): copy values as the logs write them'

@test_case(points=0.5, hidden=True)
def test_q11_principals_all(iocs):
    import pandas as pd

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

    def answer_key():
        import json
        with open('data/answer_key.json', encoding='utf-8') as fh:
            return json.load(fh)

    def ioc_kinds():
        return ['principals', 'access_keys', 'source_ips', 'regions', 'buckets']

    def ioc_lists(iocs):
        given(iocs, 'iocs')
        assert isinstance(iocs, dict), f'iocs should be a dict of lists by kind, not {type(iocs).__name__}'
        kinds = ioc_kinds()
        unknown = [k for k in iocs if k not in kinds]
        assert not unknown, f"iocs has keys that are not kinds of indicator: {', '.join((repr(k) for k in unknown))} (use {', '.join(kinds)})"
        missing = [k for k in kinds if k not in iocs]
        assert not missing, f"iocs lacks the kinds {', '.join(missing)}: give each kind a list (an empty one if you found none)"
        return {k: [v.strip() for v in strings(iocs[k], f"iocs['{k}']")] for k in kinds}

    def ioc_same(kind, value, key_value):
        if kind in ('regions', 'buckets'):
            return value.lower() == key_value.lower()
        if kind == 'principals' and '/' in key_value:
            return value in (key_value, key_value.split('/')[0])
        return value == key_value

    def ioc_found(iocs, kind):
        got = ioc_lists(iocs)[kind]
        key = answer_key()['iocs'][kind]
        named = sum((any((ioc_same(kind, v, k) for v in got)) for k in key['required']))
        wrong = sum((not any((ioc_same(kind, v, k) for k in key['required'] + key['accepted'])) for v in set(got)))
        return (named, wrong)
    named, wrong = ioc_found(iocs, 'principals')
    total = len(answer_key()['iocs']['principals']['required'])
    assert named == total, f"iocs['principals'] names {named} of the {total} principals the intruder acted as"

@test_case(points=0.5, hidden=True)
def test_q11_principals_only(iocs):
    import pandas as pd

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

    def answer_key():
        import json
        with open('data/answer_key.json', encoding='utf-8') as fh:
            return json.load(fh)

    def ioc_kinds():
        return ['principals', 'access_keys', 'source_ips', 'regions', 'buckets']

    def ioc_lists(iocs):
        given(iocs, 'iocs')
        assert isinstance(iocs, dict), f'iocs should be a dict of lists by kind, not {type(iocs).__name__}'
        kinds = ioc_kinds()
        unknown = [k for k in iocs if k not in kinds]
        assert not unknown, f"iocs has keys that are not kinds of indicator: {', '.join((repr(k) for k in unknown))} (use {', '.join(kinds)})"
        missing = [k for k in kinds if k not in iocs]
        assert not missing, f"iocs lacks the kinds {', '.join(missing)}: give each kind a list (an empty one if you found none)"
        return {k: [v.strip() for v in strings(iocs[k], f"iocs['{k}']")] for k in kinds}

    def ioc_same(kind, value, key_value):
        if kind in ('regions', 'buckets'):
            return value.lower() == key_value.lower()
        if kind == 'principals' and '/' in key_value:
            return value in (key_value, key_value.split('/')[0])
        return value == key_value

    def ioc_found(iocs, kind):
        got = ioc_lists(iocs)[kind]
        key = answer_key()['iocs'][kind]
        named = sum((any((ioc_same(kind, v, k) for v in got)) for k in key['required']))
        wrong = sum((not any((ioc_same(kind, v, k) for k in key['required'] + key['accepted'])) for v in set(got)))
        return (named, wrong)
    named, wrong = ioc_found(iocs, 'principals')
    assert named > 0, "iocs['principals'] names none of the principals the intruder acted as"
    assert wrong == 0, f"iocs['principals'] lists {wrong} values that are not principals the intruder acted as"

@test_case(points=0.5, hidden=True)
def test_q11_access_keys_all(iocs):
    import pandas as pd

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

    def answer_key():
        import json
        with open('data/answer_key.json', encoding='utf-8') as fh:
            return json.load(fh)

    def ioc_kinds():
        return ['principals', 'access_keys', 'source_ips', 'regions', 'buckets']

    def ioc_lists(iocs):
        given(iocs, 'iocs')
        assert isinstance(iocs, dict), f'iocs should be a dict of lists by kind, not {type(iocs).__name__}'
        kinds = ioc_kinds()
        unknown = [k for k in iocs if k not in kinds]
        assert not unknown, f"iocs has keys that are not kinds of indicator: {', '.join((repr(k) for k in unknown))} (use {', '.join(kinds)})"
        missing = [k for k in kinds if k not in iocs]
        assert not missing, f"iocs lacks the kinds {', '.join(missing)}: give each kind a list (an empty one if you found none)"
        return {k: [v.strip() for v in strings(iocs[k], f"iocs['{k}']")] for k in kinds}

    def ioc_same(kind, value, key_value):
        if kind in ('regions', 'buckets'):
            return value.lower() == key_value.lower()
        if kind == 'principals' and '/' in key_value:
            return value in (key_value, key_value.split('/')[0])
        return value == key_value

    def ioc_found(iocs, kind):
        got = ioc_lists(iocs)[kind]
        key = answer_key()['iocs'][kind]
        named = sum((any((ioc_same(kind, v, k) for v in got)) for k in key['required']))
        wrong = sum((not any((ioc_same(kind, v, k) for k in key['required'] + key['accepted'])) for v in set(got)))
        return (named, wrong)
    named, wrong = ioc_found(iocs, 'access_keys')
    total = len(answer_key()['iocs']['access_keys']['required'])
    assert named == total, f"iocs['access_keys'] names {named} of the {total} access keys the intruder used or created"

@test_case(points=0.5, hidden=True)
def test_q11_access_keys_only(iocs):
    import pandas as pd

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

    def answer_key():
        import json
        with open('data/answer_key.json', encoding='utf-8') as fh:
            return json.load(fh)

    def ioc_kinds():
        return ['principals', 'access_keys', 'source_ips', 'regions', 'buckets']

    def ioc_lists(iocs):
        given(iocs, 'iocs')
        assert isinstance(iocs, dict), f'iocs should be a dict of lists by kind, not {type(iocs).__name__}'
        kinds = ioc_kinds()
        unknown = [k for k in iocs if k not in kinds]
        assert not unknown, f"iocs has keys that are not kinds of indicator: {', '.join((repr(k) for k in unknown))} (use {', '.join(kinds)})"
        missing = [k for k in kinds if k not in iocs]
        assert not missing, f"iocs lacks the kinds {', '.join(missing)}: give each kind a list (an empty one if you found none)"
        return {k: [v.strip() for v in strings(iocs[k], f"iocs['{k}']")] for k in kinds}

    def ioc_same(kind, value, key_value):
        if kind in ('regions', 'buckets'):
            return value.lower() == key_value.lower()
        if kind == 'principals' and '/' in key_value:
            return value in (key_value, key_value.split('/')[0])
        return value == key_value

    def ioc_found(iocs, kind):
        got = ioc_lists(iocs)[kind]
        key = answer_key()['iocs'][kind]
        named = sum((any((ioc_same(kind, v, k) for v in got)) for k in key['required']))
        wrong = sum((not any((ioc_same(kind, v, k) for k in key['required'] + key['accepted'])) for v in set(got)))
        return (named, wrong)
    named, wrong = ioc_found(iocs, 'access_keys')
    assert named > 0, "iocs['access_keys'] names none of the access keys the intruder used or created"
    assert wrong == 0, f"iocs['access_keys'] lists {wrong} values that are not access keys the intruder used or created"

@test_case(points=0.5, hidden=True)
def test_q11_source_ips_all(iocs):
    import pandas as pd

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

    def answer_key():
        import json
        with open('data/answer_key.json', encoding='utf-8') as fh:
            return json.load(fh)

    def ioc_kinds():
        return ['principals', 'access_keys', 'source_ips', 'regions', 'buckets']

    def ioc_lists(iocs):
        given(iocs, 'iocs')
        assert isinstance(iocs, dict), f'iocs should be a dict of lists by kind, not {type(iocs).__name__}'
        kinds = ioc_kinds()
        unknown = [k for k in iocs if k not in kinds]
        assert not unknown, f"iocs has keys that are not kinds of indicator: {', '.join((repr(k) for k in unknown))} (use {', '.join(kinds)})"
        missing = [k for k in kinds if k not in iocs]
        assert not missing, f"iocs lacks the kinds {', '.join(missing)}: give each kind a list (an empty one if you found none)"
        return {k: [v.strip() for v in strings(iocs[k], f"iocs['{k}']")] for k in kinds}

    def ioc_same(kind, value, key_value):
        if kind in ('regions', 'buckets'):
            return value.lower() == key_value.lower()
        if kind == 'principals' and '/' in key_value:
            return value in (key_value, key_value.split('/')[0])
        return value == key_value

    def ioc_found(iocs, kind):
        got = ioc_lists(iocs)[kind]
        key = answer_key()['iocs'][kind]
        named = sum((any((ioc_same(kind, v, k) for v in got)) for k in key['required']))
        wrong = sum((not any((ioc_same(kind, v, k) for k in key['required'] + key['accepted'])) for v in set(got)))
        return (named, wrong)
    named, wrong = ioc_found(iocs, 'source_ips')
    total = len(answer_key()['iocs']['source_ips']['required'])
    assert named == total, f"iocs['source_ips'] names {named} of the {total} addresses the intruder worked from"

@test_case(points=0.5, hidden=True)
def test_q11_source_ips_only(iocs):
    import pandas as pd

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

    def answer_key():
        import json
        with open('data/answer_key.json', encoding='utf-8') as fh:
            return json.load(fh)

    def ioc_kinds():
        return ['principals', 'access_keys', 'source_ips', 'regions', 'buckets']

    def ioc_lists(iocs):
        given(iocs, 'iocs')
        assert isinstance(iocs, dict), f'iocs should be a dict of lists by kind, not {type(iocs).__name__}'
        kinds = ioc_kinds()
        unknown = [k for k in iocs if k not in kinds]
        assert not unknown, f"iocs has keys that are not kinds of indicator: {', '.join((repr(k) for k in unknown))} (use {', '.join(kinds)})"
        missing = [k for k in kinds if k not in iocs]
        assert not missing, f"iocs lacks the kinds {', '.join(missing)}: give each kind a list (an empty one if you found none)"
        return {k: [v.strip() for v in strings(iocs[k], f"iocs['{k}']")] for k in kinds}

    def ioc_same(kind, value, key_value):
        if kind in ('regions', 'buckets'):
            return value.lower() == key_value.lower()
        if kind == 'principals' and '/' in key_value:
            return value in (key_value, key_value.split('/')[0])
        return value == key_value

    def ioc_found(iocs, kind):
        got = ioc_lists(iocs)[kind]
        key = answer_key()['iocs'][kind]
        named = sum((any((ioc_same(kind, v, k) for v in got)) for k in key['required']))
        wrong = sum((not any((ioc_same(kind, v, k) for k in key['required'] + key['accepted'])) for v in set(got)))
        return (named, wrong)
    named, wrong = ioc_found(iocs, 'source_ips')
    assert named > 0, "iocs['source_ips'] names none of the addresses the intruder worked from"
    assert wrong == 0, f"iocs['source_ips'] lists {wrong} values that are not addresses the intruder worked from"

@test_case(points=0.5, hidden=True)
def test_q11_regions(iocs):
    import pandas as pd

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

    def answer_key():
        import json
        with open('data/answer_key.json', encoding='utf-8') as fh:
            return json.load(fh)

    def ioc_kinds():
        return ['principals', 'access_keys', 'source_ips', 'regions', 'buckets']

    def ioc_lists(iocs):
        given(iocs, 'iocs')
        assert isinstance(iocs, dict), f'iocs should be a dict of lists by kind, not {type(iocs).__name__}'
        kinds = ioc_kinds()
        unknown = [k for k in iocs if k not in kinds]
        assert not unknown, f"iocs has keys that are not kinds of indicator: {', '.join((repr(k) for k in unknown))} (use {', '.join(kinds)})"
        missing = [k for k in kinds if k not in iocs]
        assert not missing, f"iocs lacks the kinds {', '.join(missing)}: give each kind a list (an empty one if you found none)"
        return {k: [v.strip() for v in strings(iocs[k], f"iocs['{k}']")] for k in kinds}

    def ioc_same(kind, value, key_value):
        if kind in ('regions', 'buckets'):
            return value.lower() == key_value.lower()
        if kind == 'principals' and '/' in key_value:
            return value in (key_value, key_value.split('/')[0])
        return value == key_value

    def ioc_found(iocs, kind):
        got = ioc_lists(iocs)[kind]
        key = answer_key()['iocs'][kind]
        named = sum((any((ioc_same(kind, v, k) for v in got)) for k in key['required']))
        wrong = sum((not any((ioc_same(kind, v, k) for k in key['required'] + key['accepted'])) for v in set(got)))
        return (named, wrong)
    named, wrong = ioc_found(iocs, 'regions')
    total = len(answer_key()['iocs']['regions']['required'])
    assert named == total and wrong == 0, f"iocs['regions'] names {named} of {total} and {wrong} wrong values"

@test_case(points=0.5, hidden=True)
def test_q11_buckets(iocs):
    import pandas as pd

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

    def answer_key():
        import json
        with open('data/answer_key.json', encoding='utf-8') as fh:
            return json.load(fh)

    def ioc_kinds():
        return ['principals', 'access_keys', 'source_ips', 'regions', 'buckets']

    def ioc_lists(iocs):
        given(iocs, 'iocs')
        assert isinstance(iocs, dict), f'iocs should be a dict of lists by kind, not {type(iocs).__name__}'
        kinds = ioc_kinds()
        unknown = [k for k in iocs if k not in kinds]
        assert not unknown, f"iocs has keys that are not kinds of indicator: {', '.join((repr(k) for k in unknown))} (use {', '.join(kinds)})"
        missing = [k for k in kinds if k not in iocs]
        assert not missing, f"iocs lacks the kinds {', '.join(missing)}: give each kind a list (an empty one if you found none)"
        return {k: [v.strip() for v in strings(iocs[k], f"iocs['{k}']")] for k in kinds}

    def ioc_same(kind, value, key_value):
        if kind in ('regions', 'buckets'):
            return value.lower() == key_value.lower()
        if kind == 'principals' and '/' in key_value:
            return value in (key_value, key_value.split('/')[0])
        return value == key_value

    def ioc_found(iocs, kind):
        got = ioc_lists(iocs)[kind]
        key = answer_key()['iocs'][kind]
        named = sum((any((ioc_same(kind, v, k) for v in got)) for k in key['required']))
        wrong = sum((not any((ioc_same(kind, v, k) for k in key['required'] + key['accepted'])) for v in set(got)))
        return (named, wrong)
    named, wrong = ioc_found(iocs, 'buckets')
    total = len(answer_key()['iocs']['buckets']['required'])
    assert named == total and wrong == 0, f"iocs['buckets'] names {named} of {total} and {wrong} wrong values"

