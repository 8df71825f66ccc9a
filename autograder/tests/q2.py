from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=0.5, hidden=False)
def test_q2_utc(cloud_iam_df, cloud_api_df):
    import pandas as pd

    def given(x, var):
        assert x is not None, f'{var} is not defined (or is None): run the cell that sets it'
        assert x is not Ellipsis, f'{var} is still ...: replace the ... with your answer'
        return x

    def utc_times(df, var):
        given(df, var)
        assert isinstance(df, pd.DataFrame) and 'timestamp' in df.columns, f'{var} should be a DataFrame with a timestamp column'
        ts = df['timestamp']
        assert pd.api.types.is_datetime64_any_dtype(ts), f"{var}['timestamp'] is not parsed to datetimes yet (its dtype is {ts.dtype})"
        assert ts.dt.tz is not None, f"{var}['timestamp'] has no time zone: CloudTrail times are UTC, so parse with utc=True"
        for day in ('2026-01-15', '2026-07-15'):
            assert pd.Timestamp(day, tz=ts.dt.tz).utcoffset() == pd.Timedelta(0), f"{var}['timestamp'] is in {ts.dt.tz}, not UTC"
        return ts
    utc_times(cloud_iam_df, 'cloud_iam_df')
    utc_times(cloud_api_df, 'cloud_api_df')

@test_case(points=0.5, hidden=False)
def test_q2_rows_kept(cloud_iam_df, cloud_api_df):
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
        have, ref = (set(ids_of(df, var)), set(log(name)['event_id']))
        lost = len(ref - have)
        assert lost == 0, f'{var} has lost {lost} rows of data/{name}.csv: keep the rows whose timestamp cannot be parsed (they become NaT)'
        extra = len(have - ref)
        assert extra == 0, f'{var} holds {extra} rows that are not in data/{name}.csv'

@test_case(points=0.5, hidden=False)
def test_q2_hour(cloud_iam_df, cloud_api_df):
    import pandas as pd
    for var, df in (('cloud_iam_df', cloud_iam_df), ('cloud_api_df', cloud_api_df)):
        assert isinstance(df, pd.DataFrame) and 'timestamp' in df.columns, f'{var} should be a DataFrame with a timestamp column'
        ts = df['timestamp']
        assert pd.api.types.is_datetime64_any_dtype(ts), f"{var}['timestamp'] is not parsed to datetimes yet (its dtype is {ts.dtype})"
        assert 'hour' in df.columns, f'{var} has no hour column'
        if ts.dt.tz is not None:
            ts = ts.dt.tz_convert('UTC')
        want = ts.dt.hour.astype('float64').to_numpy()
        got = pd.to_numeric(df['hour'], errors='coerce').astype('float64').to_numpy()
        want_na, got_na = (pd.isna(want), pd.isna(got))
        n = int((got_na & ~want_na).sum())
        assert n == 0, f'{n} rows of {var} have no hour although their timestamp was parsed'
        n = int((want_na & ~got_na).sum())
        assert n == 0, f'{n} rows of {var} have an hour although their timestamp is NaT (leave it missing)'
        n = int((~want_na & (got != want)).sum())
        assert n == 0, f'{n} rows of {var} have an hour that is not the UTC hour of their timestamp'

@test_case(points=0.5, hidden=True)
def test_q2_instants(cloud_iam_df, cloud_api_df):
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

    def utc_times(df, var):
        given(df, var)
        assert isinstance(df, pd.DataFrame) and 'timestamp' in df.columns, f'{var} should be a DataFrame with a timestamp column'
        ts = df['timestamp']
        assert pd.api.types.is_datetime64_any_dtype(ts), f"{var}['timestamp'] is not parsed to datetimes yet (its dtype is {ts.dtype})"
        assert ts.dt.tz is not None, f"{var}['timestamp'] has no time zone: CloudTrail times are UTC, so parse with utc=True"
        for day in ('2026-01-15', '2026-07-15'):
            assert pd.Timestamp(day, tz=ts.dt.tz).utcoffset() == pd.Timedelta(0), f"{var}['timestamp'] is in {ts.dt.tz}, not UTC"
        return ts
    for var, df, name in (('cloud_iam_df', cloud_iam_df, 'cloud_iam'), ('cloud_api_df', cloud_api_df, 'cloud_api')):
        ts = utc_times(df, var)
        ref = log(name)
        parsed = pd.to_datetime(ref['timestamp'], utc=True, errors='coerce', format='ISO8601')
        want = pd.Series(parsed.dt.tz_localize(None).astype('datetime64[ns]').to_numpy(), index=ref['event_id'].to_numpy())
        g = pd.Series(ts.dt.tz_convert('UTC').dt.tz_localize(None).astype('datetime64[ns]').to_numpy(), index=pd.Index(ids_of(df, var), dtype=object))
        g = g[g.index.isin(want.index)]
        w = want.reindex(g.index)
        n = int((g.isna() != w.isna()).sum())
        assert n == 0, f'{n} rows of {var} are NaT where they should not be, or the other way round'
        n = int((g.notna() & (g != w)).sum())
        assert n == 0, f"{n} rows of {var} have a timestamp that differs from the log's"

