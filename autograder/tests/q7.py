from otter.test_files import test_case

OK_FORMAT = False

name = "q7"
points = 3

@test_case(points=0.5, hidden=False)
def test_q7_format(mitre_techniques):
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

    def technique_ids(x, strict=False):
        import re
        written = strings(x, 'mitre_techniques')
        assert written, 'mitre_techniques is empty'
        bad = [v for v in written if not re.fullmatch('T\\d{4}(\\.\\d{3})?', v.strip().upper())]
        assert not (strict and bad), f'mitre_techniques holds "{bad[0]}", which is not an ATT&CK technique ID: write IDs like T1234 or T1234.001'
        ids = {v.strip().upper() for v in written if v not in bad}
        assert ids, 'mitre_techniques holds no ATT&CK technique ID'
        return ids

    def attack_techniques():
        return {'T1059.009': 'Command and Scripting Interpreter: Cloud API', 'T1069': 'Permission Groups Discovery', 'T1069.003': 'Permission Groups Discovery: Cloud Groups', 'T1078': 'Valid Accounts', 'T1078.001': 'Valid Accounts: Default Accounts', 'T1078.004': 'Valid Accounts: Cloud Accounts', 'T1087': 'Account Discovery', 'T1087.004': 'Account Discovery: Cloud Account', 'T1098': 'Account Manipulation', 'T1098.001': 'Account Manipulation: Additional Cloud Credentials', 'T1098.003': 'Account Manipulation: Additional Cloud Roles', 'T1110': 'Brute Force', 'T1110.003': 'Brute Force: Password Spraying', 'T1136': 'Create Account', 'T1136.003': 'Create Account: Cloud Account', 'T1190': 'Exploit Public-Facing Application', 'T1485': 'Data Destruction', 'T1486': 'Data Encrypted for Impact', 'T1496': 'Resource Hijacking', 'T1526': 'Cloud Service Discovery', 'T1528': 'Steal Application Access Token', 'T1530': 'Data from Cloud Storage', 'T1531': 'Account Access Removal', 'T1535': 'Unused/Unsupported Cloud Regions', 'T1537': 'Transfer Data to Cloud Account', 'T1538': 'Cloud Service Dashboard', 'T1548': 'Abuse Elevation Control Mechanism', 'T1548.005': 'Abuse Elevation Control Mechanism: Temporary Elevated Cloud Access', 'T1550': 'Use Alternate Authentication Material', 'T1550.001': 'Use Alternate Authentication Material: Application Access Token', 'T1552': 'Unsecured Credentials', 'T1552.005': 'Unsecured Credentials: Cloud Instance Metadata API', 'T1556': 'Modify Authentication Process', 'T1556.006': 'Modify Authentication Process: Multi-Factor Authentication', 'T1562': 'Impair Defenses', 'T1562.008': 'Impair Defenses: Disable or Modify Cloud Logs (ATT&CK v18; v19 moved it to T1685.002)', 'T1567': 'Exfiltration Over Web Service', 'T1578': 'Modify Cloud Compute Infrastructure', 'T1580': 'Cloud Infrastructure Discovery', 'T1619': 'Cloud Storage Object Discovery', 'T1621': 'Multi-Factor Authentication Request Generation', 'T1685.002': 'Disable or Modify Cloud Log (ATT&CK v19; formerly T1562.008)'}
    technique_ids(mitre_techniques, strict=True)
    table = set(attack_techniques())
    unknown = [v for v in strings(mitre_techniques, 'mitre_techniques') if v.strip().upper() not in table]
    shown = ', '.join(('"' + v + '"' for v in unknown))
    assert not unknown, f'mitre_techniques holds {shown}, not in the table of ATT&CK techniques of part 7'

@test_case(points=0.5, hidden=True)
def test_q7_mapping_1(mitre_techniques):
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

    def incident_techniques():
        return {'core': ['T1078', 'T1098', 'T1530'], 'evidenced': ['T1059.009', 'T1069', 'T1069.003', 'T1078', 'T1078.004', 'T1087', 'T1087.004', 'T1098', 'T1098.001', 'T1098.003', 'T1526', 'T1530', 'T1535', 'T1548', 'T1548.005', 'T1550', 'T1550.001', 'T1556', 'T1556.006', 'T1567', 'T1580', 'T1619']}

    def mapping_credit(x):
        from fractions import Fraction
        listed = {v.strip().upper() for v in strings(x, 'mitre_techniques')}
        assert listed, 'mitre_techniques is empty'
        key = incident_techniques()
        supported = listed & set(key['evidenced'])
        covered = {t.split('.')[0] for t in supported} & set(key['core'])
        return Fraction(5, 2) * Fraction(len(covered), len(key['core'])) * Fraction(len(supported), len(listed))
    credit = mapping_credit(mitre_techniques)
    assert credit >= 0.5, f'coverage x precision earns {float(credit):.2f} of 2.5 points, under 0.5'

@test_case(points=0.5, hidden=True)
def test_q7_mapping_2(mitre_techniques):
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

    def incident_techniques():
        return {'core': ['T1078', 'T1098', 'T1530'], 'evidenced': ['T1059.009', 'T1069', 'T1069.003', 'T1078', 'T1078.004', 'T1087', 'T1087.004', 'T1098', 'T1098.001', 'T1098.003', 'T1526', 'T1530', 'T1535', 'T1548', 'T1548.005', 'T1550', 'T1550.001', 'T1556', 'T1556.006', 'T1567', 'T1580', 'T1619']}

    def mapping_credit(x):
        from fractions import Fraction
        listed = {v.strip().upper() for v in strings(x, 'mitre_techniques')}
        assert listed, 'mitre_techniques is empty'
        key = incident_techniques()
        supported = listed & set(key['evidenced'])
        covered = {t.split('.')[0] for t in supported} & set(key['core'])
        return Fraction(5, 2) * Fraction(len(covered), len(key['core'])) * Fraction(len(supported), len(listed))
    credit = mapping_credit(mitre_techniques)
    assert credit >= 1.0, f'coverage x precision earns {float(credit):.2f} of 2.5 points, under 1.0'

@test_case(points=0.5, hidden=True)
def test_q7_mapping_3(mitre_techniques):
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

    def incident_techniques():
        return {'core': ['T1078', 'T1098', 'T1530'], 'evidenced': ['T1059.009', 'T1069', 'T1069.003', 'T1078', 'T1078.004', 'T1087', 'T1087.004', 'T1098', 'T1098.001', 'T1098.003', 'T1526', 'T1530', 'T1535', 'T1548', 'T1548.005', 'T1550', 'T1550.001', 'T1556', 'T1556.006', 'T1567', 'T1580', 'T1619']}

    def mapping_credit(x):
        from fractions import Fraction
        listed = {v.strip().upper() for v in strings(x, 'mitre_techniques')}
        assert listed, 'mitre_techniques is empty'
        key = incident_techniques()
        supported = listed & set(key['evidenced'])
        covered = {t.split('.')[0] for t in supported} & set(key['core'])
        return Fraction(5, 2) * Fraction(len(covered), len(key['core'])) * Fraction(len(supported), len(listed))
    credit = mapping_credit(mitre_techniques)
    assert credit >= 1.5, f'coverage x precision earns {float(credit):.2f} of 2.5 points, under 1.5'

@test_case(points=0.5, hidden=True)
def test_q7_mapping_4(mitre_techniques):
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

    def incident_techniques():
        return {'core': ['T1078', 'T1098', 'T1530'], 'evidenced': ['T1059.009', 'T1069', 'T1069.003', 'T1078', 'T1078.004', 'T1087', 'T1087.004', 'T1098', 'T1098.001', 'T1098.003', 'T1526', 'T1530', 'T1535', 'T1548', 'T1548.005', 'T1550', 'T1550.001', 'T1556', 'T1556.006', 'T1567', 'T1580', 'T1619']}

    def mapping_credit(x):
        from fractions import Fraction
        listed = {v.strip().upper() for v in strings(x, 'mitre_techniques')}
        assert listed, 'mitre_techniques is empty'
        key = incident_techniques()
        supported = listed & set(key['evidenced'])
        covered = {t.split('.')[0] for t in supported} & set(key['core'])
        return Fraction(5, 2) * Fraction(len(covered), len(key['core'])) * Fraction(len(supported), len(listed))
    credit = mapping_credit(mitre_techniques)
    assert credit >= 2.0, f'coverage x precision earns {float(credit):.2f} of 2.5 points, under 2.0'

@test_case(points=0.5, hidden=True)
def test_q7_mapping_5(mitre_techniques):
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

    def incident_techniques():
        return {'core': ['T1078', 'T1098', 'T1530'], 'evidenced': ['T1059.009', 'T1069', 'T1069.003', 'T1078', 'T1078.004', 'T1087', 'T1087.004', 'T1098', 'T1098.001', 'T1098.003', 'T1526', 'T1530', 'T1535', 'T1548', 'T1548.005', 'T1550', 'T1550.001', 'T1556', 'T1556.006', 'T1567', 'T1580', 'T1619']}

    def mapping_credit(x):
        from fractions import Fraction
        listed = {v.strip().upper() for v in strings(x, 'mitre_techniques')}
        assert listed, 'mitre_techniques is empty'
        key = incident_techniques()
        supported = listed & set(key['evidenced'])
        covered = {t.split('.')[0] for t in supported} & set(key['core'])
        return Fraction(5, 2) * Fraction(len(covered), len(key['core'])) * Fraction(len(supported), len(listed))
    credit = mapping_credit(mitre_techniques)
    assert credit >= 2.5, f'coverage x precision earns {float(credit):.2f} of 2.5 points, under 2.5'

