from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=0.5, hidden=False)
def test_q3_rows(susp_iam):
    import pandas as pd

    def given(x, var):
        assert x is not None, f'{var} is not defined (or is None): run the cell that sets it'
        assert x is not Ellipsis, f'{var} is still ...: replace the ... with your answer'
        return x

    def ids_of(df, var):
        given(df, var)
        if isinstance(df, pd.Series):
            if pd.api.types.is_bool_dtype(df.dtype):
                raise AssertionError(f'{var} is a boolean Series (a mask), not a DataFrame: select the rows with it, frame[mask]')
            raise AssertionError(f'{var} is a pandas Series (the column {df.name!r}), not a DataFrame: keep whole rows, not one column')
        assert isinstance(df, pd.DataFrame), f'{var} should be a pandas DataFrame, not {type(df).__name__}'
        if 'event_id' in df.columns:
            col = df['event_id']
        elif 'event_id' in df.index.names:
            col = df.index.get_level_values('event_id')
        else:
            merged = sorted((str(c) for c in df.columns if str(c).startswith('event_id_')))
            assert not merged, f'{var} has the columns {merged} but no event_id: it looks like the result of a merge; select rows of one frame instead (for example with .isin)'
            raise AssertionError(f'{var} has no event_id column')
        return [str(v) for v in col.tolist()]

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

    def given(x, var):
        assert x is not None, f'{var} is not defined (or is None): run the cell that sets it'
        assert x is not Ellipsis, f'{var} is still ...: replace the ... with your answer'
        return x

    def ids_of(df, var):
        given(df, var)
        if isinstance(df, pd.Series):
            if pd.api.types.is_bool_dtype(df.dtype):
                raise AssertionError(f'{var} is a boolean Series (a mask), not a DataFrame: select the rows with it, frame[mask]')
            raise AssertionError(f'{var} is a pandas Series (the column {df.name!r}), not a DataFrame: keep whole rows, not one column')
        assert isinstance(df, pd.DataFrame), f'{var} should be a pandas DataFrame, not {type(df).__name__}'
        if 'event_id' in df.columns:
            col = df['event_id']
        elif 'event_id' in df.index.names:
            col = df.index.get_level_values('event_id')
        else:
            merged = sorted((str(c) for c in df.columns if str(c).startswith('event_id_')))
            assert not merged, f'{var} has the columns {merged} but no event_id: it looks like the result of a merge; select rows of one frame instead (for example with .isin)'
            raise AssertionError(f'{var} has no event_id column')
        return [str(v) for v in col.tolist()]

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

    def given(x, var):
        assert x is not None, f'{var} is not defined (or is None): run the cell that sets it'
        assert x is not Ellipsis, f'{var} is still ...: replace the ... with your answer'
        return x

    def ids_of(df, var):
        given(df, var)
        if isinstance(df, pd.Series):
            if pd.api.types.is_bool_dtype(df.dtype):
                raise AssertionError(f'{var} is a boolean Series (a mask), not a DataFrame: select the rows with it, frame[mask]')
            raise AssertionError(f'{var} is a pandas Series (the column {df.name!r}), not a DataFrame: keep whole rows, not one column')
        assert isinstance(df, pd.DataFrame), f'{var} should be a pandas DataFrame, not {type(df).__name__}'
        if 'event_id' in df.columns:
            col = df['event_id']
        elif 'event_id' in df.index.names:
            col = df.index.get_level_values('event_id')
        else:
            merged = sorted((str(c) for c in df.columns if str(c).startswith('event_id_')))
            assert not merged, f'{var} has the columns {merged} but no event_id: it looks like the result of a merge; select rows of one frame instead (for example with .isin)'
            raise AssertionError(f'{var} has no event_id column')
        return [str(v) for v in col.tolist()]

    def whole_log(df, var, name):
        rows = rows_of(df, var, name)
        ref = log(name)
        absent = ref[~ref['event_id'].isin(set(rows['event_id']))]
        lost = int(pd.to_datetime(absent['timestamp'], utc=True, errors='coerce', format='ISO8601').notna().sum())
        assert lost == 0, f'{var} holds {len(rows)} of the {len(ref)} rows of data/{name}.csv: load the whole file in part 1 (no .head(), nrows or filter); the answers are graded against all of it'
        return rows

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
    iam = whole_log(cloud_iam_df, 'cloud_iam_df', 'cloud_iam')
    missing = iam[iam['event_name'].isin(names) & ~iam['event_id'].isin(have)]
    assert len(missing) == 0, f"susp_iam lacks {len(missing)} rows of cloud_iam_df whose event_name is {' or '.join(sorted(set(missing['event_name'])))}"

@test_case(points=0.5, hidden=True)
def test_q3_exact(susp_iam, cloud_iam_df):
    import pandas as pd

    def given(x, var):
        assert x is not None, f'{var} is not defined (or is None): run the cell that sets it'
        assert x is not Ellipsis, f'{var} is still ...: replace the ... with your answer'
        return x

    def ids_of(df, var):
        given(df, var)
        if isinstance(df, pd.Series):
            if pd.api.types.is_bool_dtype(df.dtype):
                raise AssertionError(f'{var} is a boolean Series (a mask), not a DataFrame: select the rows with it, frame[mask]')
            raise AssertionError(f'{var} is a pandas Series (the column {df.name!r}), not a DataFrame: keep whole rows, not one column')
        assert isinstance(df, pd.DataFrame), f'{var} should be a pandas DataFrame, not {type(df).__name__}'
        if 'event_id' in df.columns:
            col = df['event_id']
        elif 'event_id' in df.index.names:
            col = df.index.get_level_values('event_id')
        else:
            merged = sorted((str(c) for c in df.columns if str(c).startswith('event_id_')))
            assert not merged, f'{var} has the columns {merged} but no event_id: it looks like the result of a merge; select rows of one frame instead (for example with .isin)'
            raise AssertionError(f'{var} has no event_id column')
        return [str(v) for v in col.tolist()]

    def log(name):
        return pd.read_csv(f'data/{name}.csv', dtype=object, keep_default_na=False)

    def reveal(question, **frames):
        code = {'q3': "susp_iam = cloud_iam_df[cloud_iam_df['event_name'].isin([\n    'CreateAccessKey', 'AttachRolePolicy', 'AssumeRole', 'DeactivateMFADevice'\n])]", 'q4': "susp_api = cloud_api_df[cloud_api_df['event_name'].str.startswith('List') |\n                        cloud_api_df['event_name'].str.startswith('Describe') |\n                        cloud_api_df['event_name'].isin(['GetObject'])]", 'q5': "actors = susp_iam['user'].unique().tolist()\nrelated_api = cloud_api_df[cloud_api_df['user'].isin(actors)]"}[question]
        names = {'pd': pd, **frames}
        exec(code, names)
        return names

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
        return reveal('q3', cloud_iam_df=base(cloud_iam_df, 'cloud_iam'))['susp_iam']
    want = set(ref_susp_iam(cloud_iam_df)['event_id'])
    have = set(ids_of(susp_iam, 'susp_iam'))
    assert have == want, f'susp_iam: {len(want - have)} rows missing, {len(have - want)} rows too many'

