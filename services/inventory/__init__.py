"""The inventory context: stock levels and the reservations orders hold."""
