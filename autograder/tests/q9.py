from otter.test_files import test_case

OK_FORMAT = False

name = "q9"
points = 1

@test_case(points=0, hidden=False)
def test_q9_format(compromised_user, attacker_ip):
    import pandas as pd
    import ipaddress

    def given(x, var):
        assert x is not None, f'{var} is not defined (or is None): run the cell that sets it'
        assert x is not Ellipsis, f'{var} is still ...: replace the ... with your answer'
        return x
    given(compromised_user, 'compromised_user')
    given(attacker_ip, 'attacker_ip')
    assert isinstance(compromised_user, str) and compromised_user.strip(), f'compromised_user should be a user name (a non-empty string), not {type(compromised_user).__name__}'
    assert isinstance(attacker_ip, str), f'attacker_ip should be a string, not {type(attacker_ip).__name__}'
    try:
        ipaddress.ip_address(attacker_ip.strip())
    except ValueError:
        raise AssertionError(f'attacker_ip {attacker_ip!r} is not an IP address') from None

@test_case(points=0.5, hidden=True)
def test_q9_user(compromised_user):
    import pandas as pd

    def answer_key():
        import json
        with open('data/answer_key.json', encoding='utf-8') as fh:
            return json.load(fh)
    assert isinstance(compromised_user, str) and compromised_user.strip() == answer_key()['compromised_user'], 'compromised_user is not the compromised principal'

@test_case(points=0.5, hidden=True)
def test_q9_ip(attacker_ip):
    import pandas as pd
    import ipaddress

    def answer_key():
        import json
        with open('data/answer_key.json', encoding='utf-8') as fh:
            return json.load(fh)
    try:
        ip = ipaddress.ip_address(str(attacker_ip).strip())
    except ValueError:
        raise AssertionError('attacker_ip is not an IP address') from None
    assert ip in {ipaddress.ip_address(a) for a in answer_key()['attacker_ips']}, 'attacker_ip is not an address the intruder worked from'

