"""Change requests (設定変更依頼): from the customer's sheet to the customer's acceptance."""
