from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=0.5, hidden=False)
def test_q3_rows(susp_iam):
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

    def rows_of(df, var, name):
        have = ids_of(df, var)
        assert len(have) > 0, f'{var} is empty'
        dups = len(have) - len(set(have))
        assert dups == 0, f'{var} holds {dups} duplicate rows'
        ref = log(name)
        foreign = len(set(have) - set(ref['event_id']))
        assert foreign == 0, f'{foreign} rows of {var} are not rows of data/{name}.csv'
        return ref[ref['event_id'].isin(set(have))]
    rows_of(susp_iam, 'susp_iam', 'cloud_iam')

@test_case(points=0.5, hidden=False)
def test_q3_no_extra(susp_iam):
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

    def rows_of(df, var, name):
        have = ids_of(df, var)
        assert len(have) > 0, f'{var} is empty'
        dups = len(have) - len(set(have))
        assert dups == 0, f'{var} holds {dups} duplicate rows'
        ref = log(name)
        foreign = len(set(have) - set(ref['event_id']))
        assert foreign == 0, f'{foreign} rows of {var} are not rows of data/{name}.csv'
        return ref[ref['event_id'].isin(set(have))]
    names = ['CreateAccessKey', 'AttachRolePolicy', 'AssumeRole', 'DeactivateMFADevice']
    rows = rows_of(susp_iam, 'susp_iam', 'cloud_iam')
    extra = rows[~rows['event_name'].isin(names)]
    assert len(extra) == 0, f"{len(extra)} rows of susp_iam have an event_name that is not one of the four listed ({', '.join(sorted(set(extra['event_name'])))})"

@test_case(points=0.5, hidden=False)
def test_q3_none_missing(susp_iam, cloud_iam_df):
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

    def rows_of(df, var, name):
        have = ids_of(df, var)
        assert len(have) > 0, f'{var} is empty'
        dups = len(have) - len(set(have))
        assert dups == 0, f'{var} holds {dups} duplicate rows'
        ref = log(name)
        foreign = len(set(have) - set(ref['event_id']))
        assert foreign == 0, f'{foreign} rows of {var} are not rows of data/{name}.csv'
        return ref[ref['event_id'].isin(set(have))]
    names = ['CreateAccessKey', 'AttachRolePolicy', 'AssumeRole', 'DeactivateMFADevice']
    have = set(rows_of(susp_iam, 'susp_iam', 'cloud_iam')['event_id'])
    iam = rows_of(cloud_iam_df, 'cloud_iam_df', 'cloud_iam')
    missing = iam[iam['event_name'].isin(names) & ~iam['event_id'].isin(have)]
    assert len(missing) == 0, f"susp_iam lacks {len(missing)} rows of cloud_iam_df whose event_name is {' or '.join(sorted(set(missing['event_name'])))}"

@test_case(points=0.5, hidden=True)
def test_q3_exact(susp_iam, cloud_iam_df):
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
    want = set(ref_susp_iam(cloud_iam_df)['event_id'])
    have = set(ids_of(susp_iam, 'susp_iam'))
    assert have == want, f'susp_iam: {len(want - have)} rows missing, {len(have - want)} rows too many'

