from otter.test_files import test_case

OK_FORMAT = False

name = "q6"
points = 1

@test_case(points=0.5, hidden=False)
def test_q6_users(susp_users, susp_iam):
    import pandas as pd

    def ids_of(df, var):
        assert isinstance(df, pd.DataFrame), f'{var} should be a pandas DataFrame, not {type(df).__name__}'
        if 'event_id' in df.columns:
            col = df['event_id']
        elif 'event_id' in df.index.names:
            col = df.index.get_level_values('event_id')
        else:
            raise AssertionError(f'{var} has no event_id column')
        return [str(v) for v in col]

    def log(name):
        return pd.read_csv(f'data/{name}.csv', dtype=object, keep_default_na=False)

    def strings(x, var):
        if isinstance(x, (str, bytes, dict, pd.DataFrame)) or not hasattr(x, '__iter__'):
            raise AssertionError(f'{var} should be a list (or tuple, set, array, Series), not {type(x).__name__}')
        vals = [v for v in list(x) if not (v is None or (isinstance(v, float) and v != v))]
        bad = [v for v in vals if not isinstance(v, str)]
        assert not bad, f'{var} should hold strings, but holds {type(bad[0]).__name__} values'
        return vals

    def rows_of(df, var, name):
        have = ids_of(df, var)
        assert len(have) > 0, f'{var} is empty'
        dups = len(have) - len(set(have))
        assert dups == 0, f'{var} holds {dups} duplicate rows'
        ref = log(name)
        foreign = len(set(have) - set(ref['event_id']))
        assert foreign == 0, f'{foreign} rows of {var} are not rows of data/{name}.csv'
        return ref[ref['event_id'].isin(set(have))]
    got = set(strings(susp_users, 'susp_users'))
    assert got, 'susp_users is empty'
    users = set(rows_of(susp_iam, 'susp_iam', 'cloud_iam')['user'])
    extra = got - users
    assert not extra, f'susp_users names {len(extra)} users who have no row in susp_iam'

@test_case(points=0.5, hidden=True)
def test_q6_exact(susp_users, cloud_iam_df):
    import pandas as pd

    def ids_of(df, var):
        assert isinstance(df, pd.DataFrame), f'{var} should be a pandas DataFrame, not {type(df).__name__}'
        if 'event_id' in df.columns:
            col = df['event_id']
        elif 'event_id' in df.index.names:
            col = df.index.get_level_values('event_id')
        else:
            raise AssertionError(f'{var} has no event_id column')
        return [str(v) for v in col]

    def log(name):
        return pd.read_csv(f'data/{name}.csv', dtype=object, keep_default_na=False)

    def strings(x, var):
        if isinstance(x, (str, bytes, dict, pd.DataFrame)) or not hasattr(x, '__iter__'):
            raise AssertionError(f'{var} should be a list (or tuple, set, array, Series), not {type(x).__name__}')
        vals = [v for v in list(x) if not (v is None or (isinstance(v, float) and v != v))]
        bad = [v for v in vals if not isinstance(v, str)]
        assert not bad, f'{var} should hold strings, but holds {type(bad[0]).__name__} values'
        return vals

    def base(df, name):
        ref = log(name)
        ok = pd.to_datetime(ref['timestamp'], utc=True, errors='coerce', format='ISO8601').notna()
        try:
            have = set(ids_of(df, name))
        except AssertionError:
            return ref
        if set(ref.loc[ok, 'event_id']) <= have <= set(ref['event_id']):
            return ref[ref['event_id'].isin(have)]
        return ref

    def ref_susp_iam(cloud_iam_df):
        iam = base(cloud_iam_df, 'cloud_iam')
        names = ['CreateAccessKey', 'AttachRolePolicy', 'AssumeRole', 'DeactivateMFADevice']
        return iam[iam['event_name'].isin(names)]
    want = set(ref_susp_iam(cloud_iam_df)['user']) - {''}
    got = set(strings(susp_users, 'susp_users'))
    assert got == want, f'susp_users: {len(want - got)} users missing, {len(got - want)} too many'

