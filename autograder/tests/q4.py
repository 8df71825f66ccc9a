from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=0.5, hidden=False)
def test_q4_rows(susp_api):
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
    rows_of(susp_api, 'susp_api', 'cloud_api')

@test_case(points=0.5, hidden=False)
def test_q4_no_extra(susp_api):
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

    def reveal(question, **frames):
        code = {'q3': "susp_iam = cloud_iam_df[cloud_iam_df['event_name'].isin([\n    'CreateAccessKey', 'AttachRolePolicy', 'AssumeRole', 'DeactivateMFADevice'\n])]", 'q4': "susp_api = cloud_api_df[cloud_api_df['event_name'].str.startswith('List') |\n                        cloud_api_df['event_name'].str.startswith('Describe') |\n                        cloud_api_df['event_name'].isin(['GetObject'])]", 'q5': "actors = susp_iam['user'].unique().tolist()\nrelated_api = cloud_api_df[cloud_api_df['user'].isin(actors)]"}[question]
        names = {'pd': pd, **frames}
        exec(code, names)
        return names

    def wanted(s):
        names = pd.Series(s.unique(), dtype=object)
        kept = reveal('q4', cloud_api_df=pd.DataFrame({'event_name': names}))['susp_api']
        return s.isin(set(names[names.index.isin(kept.index)]))
    rows = rows_of(susp_api, 'susp_api', 'cloud_api')
    name = rows['event_name']
    look = rows[name.str.startswith('GetObject') & (name != 'GetObject')]
    assert len(look) == 0, f"{len(look)} rows have an event_name that starts with GetObject but is not GetObject ({', '.join(sorted(set(look['event_name'])))})"
    extra = rows[~wanted(name)]
    assert len(extra) == 0, f"{len(extra)} rows of susp_api have an event_name that neither starts with List or Describe nor is GetObject ({', '.join(sorted(set(extra['event_name']))[:5])})"

@test_case(points=0.5, hidden=False)
def test_q4_none_missing(susp_api, cloud_api_df):
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

    def reveal(question, **frames):
        code = {'q3': "susp_iam = cloud_iam_df[cloud_iam_df['event_name'].isin([\n    'CreateAccessKey', 'AttachRolePolicy', 'AssumeRole', 'DeactivateMFADevice'\n])]", 'q4': "susp_api = cloud_api_df[cloud_api_df['event_name'].str.startswith('List') |\n                        cloud_api_df['event_name'].str.startswith('Describe') |\n                        cloud_api_df['event_name'].isin(['GetObject'])]", 'q5': "actors = susp_iam['user'].unique().tolist()\nrelated_api = cloud_api_df[cloud_api_df['user'].isin(actors)]"}[question]
        names = {'pd': pd, **frames}
        exec(code, names)
        return names

    def wanted(s):
        names = pd.Series(s.unique(), dtype=object)
        kept = reveal('q4', cloud_api_df=pd.DataFrame({'event_name': names}))['susp_api']
        return s.isin(set(names[names.index.isin(kept.index)]))
    have = set(rows_of(susp_api, 'susp_api', 'cloud_api')['event_id'])
    api = whole_log(cloud_api_df, 'cloud_api_df', 'cloud_api')
    missing = api[wanted(api['event_name']) & ~api['event_id'].isin(have)]
    kinds = sorted({'List*' if n.startswith('List') else 'Describe*' if n.startswith('Describe') else n for n in missing['event_name']})
    assert len(missing) == 0, f"susp_api lacks {len(missing)} rows of cloud_api_df ({', '.join(kinds)})"

@test_case(points=0.5, hidden=True)
def test_q4_exact(susp_api, cloud_api_df):
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
    api = base(cloud_api_df, 'cloud_api')
    names = {n for n in api['event_name'].unique() if n.startswith('List') or n.startswith('Describe') or n == 'GetObject'}
    want = set(api.loc[api['event_name'].isin(names), 'event_id'])
    have = set(ids_of(susp_api, 'susp_api'))
    assert have == want, f'susp_api: {len(want - have)} rows missing, {len(have - want)} rows too many'

