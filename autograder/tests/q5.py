from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = 2

@test_case(points=0.5, hidden=False)
def test_q5_actors(actors, susp_iam):
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

    def rows_of(df, var, name):
        have = ids_of(df, var)
        assert len(have) > 0, f'{var} is empty'
        dups = len(have) - len(set(have))
        assert dups == 0, f'{var} holds {dups} duplicate rows'
        ref = log(name)
        foreign = len(set(have) - set(ref['event_id']))
        assert foreign == 0, f'{foreign} rows of {var} are not rows of data/{name}.csv'
        return ref[ref['event_id'].isin(set(have))]
    got = set(strings(actors, 'actors'))
    assert got, 'actors is empty'
    rows = rows_of(susp_iam, 'susp_iam', 'cloud_iam')
    users = set(rows['user']) - {''}
    extra = got - users
    assert not extra, f'actors names {len(extra)} users who have no row in susp_iam: take the users from the suspicious IAM events'
    assert not users - got, f'actors lacks {len(users - got)} users of susp_iam'

@test_case(points=0.5, hidden=False)
def test_q5_related_rows(related_api, actors):
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

    def rows_of(df, var, name):
        have = ids_of(df, var)
        assert len(have) > 0, f'{var} is empty'
        dups = len(have) - len(set(have))
        assert dups == 0, f'{var} holds {dups} duplicate rows'
        ref = log(name)
        foreign = len(set(have) - set(ref['event_id']))
        assert foreign == 0, f'{foreign} rows of {var} are not rows of data/{name}.csv'
        return ref[ref['event_id'].isin(set(have))]
    have = ids_of(related_api, 'related_api')
    assert len(have) > 0, 'related_api is empty'
    assert len(have) == len(set(have)), 'related_api holds duplicate rows'
    iam_rows = len(set(have) & set(log('cloud_iam')['event_id']))
    assert iam_rows == 0, f'{iam_rows} rows of related_api come from the IAM log: take the rows from cloud_api_df'
    rows = rows_of(related_api, 'related_api', 'cloud_api')
    users = set(strings(actors, 'actors'))
    other = rows[~rows['user'].isin(users)]
    assert len(other) == 0, f'{len(other)} rows of related_api belong to users who are not in actors'

@test_case(points=0.5, hidden=False)
def test_q5_related_complete(related_api, actors, cloud_api_df):
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

    def rows_of(df, var, name):
        have = ids_of(df, var)
        assert len(have) > 0, f'{var} is empty'
        dups = len(have) - len(set(have))
        assert dups == 0, f'{var} holds {dups} duplicate rows'
        ref = log(name)
        foreign = len(set(have) - set(ref['event_id']))
        assert foreign == 0, f'{foreign} rows of {var} are not rows of data/{name}.csv'
        return ref[ref['event_id'].isin(set(have))]
    users = set(strings(actors, 'actors'))
    have = set(ids_of(related_api, 'related_api'))
    api = whole_log(cloud_api_df, 'cloud_api_df', 'cloud_api')
    missing = api[api['user'].isin(users) & ~api['event_id'].isin(have)]
    assert len(missing) == 0, f'related_api lacks {len(missing)} rows of cloud_api_df whose user is in actors'

@test_case(points=0.5, hidden=True)
def test_q5_exact(actors, related_api, cloud_iam_df, cloud_api_df):
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

    def ref_related(cloud_iam_df, cloud_api_df):
        found = reveal('q5', susp_iam=ref_susp_iam(cloud_iam_df), cloud_api_df=base(cloud_api_df, 'cloud_api'))
        return (set(found['actors']) - {''}, found['related_api'])
    users, rel = ref_related(cloud_iam_df, cloud_api_df)
    got = set(strings(actors, 'actors'))
    assert got == users, f'actors: {len(users - got)} users missing, {len(got - users)} too many'
    have, want = (set(ids_of(related_api, 'related_api')), set(rel['event_id']))
    assert have == want, f'related_api: {len(want - have)} rows missing, {len(have - want)} rows too many'

