import { clientIpFromForwarded } from '../../../shared/http/client-ip';

it('takes the address the front end appended, never one the client sent before it', () => {
  expect(clientIpFromForwarded('10.0.0.5, 203.0.113.7:52100')).toBe('203.0.113.7');
  expect(clientIpFromForwarded('203.0.113.7:52100')).toBe('203.0.113.7');
  expect(clientIpFromForwarded('203.0.113.7')).toBe('203.0.113.7');
});

it('keeps an IPv6 address whole, with or without its port', () => {
  expect(clientIpFromForwarded('2001:db8::1234')).toBe('2001:db8::1234');
  expect(clientIpFromForwarded('[2001:db8::1234]:443')).toBe('2001:db8::1234');
});

it('gives null for anything that is not an address', () => {
  expect(clientIpFromForwarded(null)).toBeNull();
  expect(clientIpFromForwarded('')).toBeNull();
  expect(clientIpFromForwarded('unknown')).toBeNull();
  expect(clientIpFromForwarded(`1.2.3.4, ${'x'.repeat(500)}`)).toBeNull();
});
