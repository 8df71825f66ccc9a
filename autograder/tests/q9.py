from otter.test_files import test_case

OK_FORMAT = False

name = "q9"
points = 1

@test_case(points=0, hidden=False)
def test_q9_format(compromised_user, attacker_ip):
    import pandas as pd
    import ipaddress
    assert isinstance(compromised_user, str) and compromised_user.strip(), 'compromised_user should be a user name (a non-empty string)'
    assert isinstance(attacker_ip, str), 'attacker_ip should be a string'
    try:
        ipaddress.ip_address(attacker_ip.strip())
    except ValueError:
        raise AssertionError(f'attacker_ip {attacker_ip!r} is not an IP address') from None

@test_case(points=0.5, hidden=True)
def test_q9_user(compromised_user):
    import pandas as pd
    assert isinstance(compromised_user, str) and compromised_user.strip() == 'd.whitfield', 'compromised_user is not the compromised principal'

@test_case(points=0.5, hidden=True)
def test_q9_ip(attacker_ip):
    import pandas as pd
    import ipaddress
    try:
        ip = ipaddress.ip_address(str(attacker_ip).strip())
    except ValueError:
        raise AssertionError('attacker_ip is not an IP address') from None
    assert ip in {ipaddress.ip_address(a) for a in ['203.0.113.112', '203.0.113.47']}, 'attacker_ip is not an address the intruder worked from'

