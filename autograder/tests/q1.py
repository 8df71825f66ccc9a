from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 1

@test_case(points=0.5, hidden=False)
def test_q1_loaded(cloud_iam_df, cloud_api_df):
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
    needed = ['event_id', 'timestamp', 'user', 'user_type', 'principal_arn', 'event_source', 'event_name', 'resource', 'region', 'source_ip', 'user_agent', 'access_key_id', 'error_code', 'details']
    for var, df, name in (('cloud_iam_df', cloud_iam_df, 'cloud_iam'), ('cloud_api_df', cloud_api_df, 'cloud_api')):
        have = ids_of(df, var)
        assert len(have) > 0, f'{var} is empty'
        missing = [c for c in needed if c not in df.columns and c not in df.index.names]
        assert not missing, f'{var} lacks the columns {missing}: keep every column of data/{name}.csv'
        dups = len(have) - len(set(have))
        assert dups == 0, f'{var} holds {dups} duplicate rows'
        other = len(set(have) - set(log(name)['event_id']))
        assert other == 0, f'{var} holds {other} rows that are not in data/{name}.csv (are the two files swapped?)'
        whole_log(df, var, name)

@test_case(points=0.5, hidden=True)
def test_q1_all_valid_rows(cloud_iam_df, cloud_api_df):
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
    for var, df, name in (('cloud_iam_df', cloud_iam_df, 'cloud_iam'), ('cloud_api_df', cloud_api_df, 'cloud_api')):
        ref = log(name)
        ok = pd.to_datetime(ref['timestamp'], utc=True, errors='coerce', format='ISO8601').notna()
        lost = set(ref.loc[ok, 'event_id']) - set(ids_of(df, var))
        assert not lost, f'{var} lacks {len(lost)} rows of data/{name}.csv'

